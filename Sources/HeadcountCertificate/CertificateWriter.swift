import Foundation

/// Writes a certificate folder: certificate.json, participants.txt, public-key.pem and
/// certificate.html. Each file is replaced atomically.
public struct CertificateWriter: Sendable {
    /// The folder; created when missing.
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Writes `certificate`, signing the document with `signingKey`, whose public half must
    /// be the certificate's public key.
    public func write(_ certificate: Certificate, signingKey: SigningKey) throws(CertificateError) {
        guard signingKey.publicKey == certificate.publicKey else {
            throw CertificateError(.invalidKey, "the signing key is not the one whose public key the certificate publishes")
        }
        for participant in certificate.participants where participant.key.isEmpty {
            throw CertificateError(.invalidParticipant, "an empty participant key cannot be certified (bucket \(participant.bucket))")
        }
        try FileOutput.makeDirectory(directory)
        let participantsText = ParticipantList.text(certificate.participants)
        let document = try certificate.document(participantsText: participantsText, signingKey: signingKey)
        try FileOutput.replace(path: path(Certificate.participantsFile), contents: Array(participantsText.utf8))
        try FileOutput.replace(path: path(Certificate.jsonFile), contents: Array(try document.prettyText().utf8))
        try FileOutput.replace(path: path(Certificate.publicKeyFile), contents: Array(certificate.publicKey.pem.utf8))
        let html = CertificatePage(certificate: certificate, documentHash: document["document_hash"]?.stringValue ?? "").html
        try FileOutput.replace(path: path(Certificate.htmlFile), contents: Array(html.utf8))
    }

    private func path(_ file: String) -> String {
        (directory as NSString).appendingPathComponent(file)
    }
}
