import Crypto

/// The comparisons every route's authentication rests on.
enum Signatures {
    /// Whether two secrets or signatures are equal, in time that depends only on their
    /// lengths (hashing first makes even those equal), so a guesser learns nothing from timing.
    static func constantTimeEquals(_ a: some Sequence<UInt8>, _ b: some Sequence<UInt8>) -> Bool {
        let left = SHA256.hash(data: Array(a)), right = SHA256.hash(data: Array(b))
        var difference: UInt8 = 0
        for (x, y) in zip(left, right) { difference |= x ^ y }
        return difference == 0
    }

    static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> String {
        Hex.lowercase(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    static func hmacSHA1(key: [UInt8], _ message: [UInt8]) -> String {
        Hex.lowercase(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// `Authorization: Bearer <token>` checked against the route's token.
    static func checkBearer(_ request: WebhookRequest, token: [UInt8]) throws(IngestRefusal) {
        guard let header = request.header("Authorization") else {
            throw IngestRefusal(.unauthorized, "missing bearer token", where: "header Authorization")
        }
        let prefix = "bearer "
        guard header.utf8.count > prefix.utf8.count,
              String(header.prefix(prefix.count)).lowercased() == prefix,
              constantTimeEquals(header.utf8.dropFirst(prefix.utf8.count), token)
        else { throw IngestRefusal(.unauthorized, "wrong bearer token", where: "header Authorization") }
    }
}
