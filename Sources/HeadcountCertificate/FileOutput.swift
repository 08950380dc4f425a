import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file operations the certificate needs, with errors that name the file.
enum FileOutput {
    /// Creates `path` with mode 0600 and writes `contents`; fails if the file exists.
    ///
    /// The mode is given to open(2) itself, so the secret is never readable by others,
    /// not even for the moment between creating the file and changing its mode.
    static func createPrivate(path: String, contents: [UInt8]) throws(CertificateError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST {
                throw CertificateError(.keyFileExists, "a file is already there; it is never overwritten", path: path)
            }
            throw CertificateError(.writeFailed, "cannot create the file: \(String(cString: strerror(code)))", path: path)
        }
        defer { close(descriptor) }
        var written = 0
        while written < contents.count {
            let result = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                let code = errno
                if code == EINTR { continue }
                throw CertificateError(.writeFailed, "write failed: \(String(cString: strerror(code)))", path: path)
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            throw CertificateError(.writeFailed, "fsync failed: \(String(cString: strerror(errno)))", path: path)
        }
    }

    /// Writes `contents` to a temporary file beside `path` and renames it into place, so a
    /// reader never sees half a certificate.
    static func replace(path: String, contents: [UInt8]) throws(CertificateError) {
        do {
            try Data(contents).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CertificateError(.writeFailed, "cannot write: \(error.localizedDescription)", path: path)
        }
    }

    /// Creates `directory` and its parents when missing.
    static func makeDirectory(_ directory: String) throws(CertificateError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CertificateError(.writeFailed, "cannot create the directory: \(error.localizedDescription)", path: directory)
        }
    }

    /// The bytes of `path`, or nil when there is no such file.
    static func read(path: String) throws(CertificateError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CertificateError(.invalidCertificate, "the file cannot be read", path: path)
        }
        return Array(data)
    }
}
