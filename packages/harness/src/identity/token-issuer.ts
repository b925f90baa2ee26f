// A stand-in identity provider for the tests and the tools: a key pair made for the run, tokens
// minted with it (jose), and what an API needs to verify them (AUTH_MODE=jwt). RS256 by default:
// the most common provider default, and the cheapest signature for the API to verify.
import { randomUUID } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const TEST_ISSUER = 'https://id.coupons.test/';
export const TEST_AUDIENCE = 'coupons-api';

export type TestAlgorithm = 'RS256' | 'ES256';

export interface MintOptions {
  issuer?: string;
  audience?: string;
  /** Seconds from now until exp (negative: already expired). Default one hour. */
  expiresInSeconds?: number;
  /** Seconds from now until nbf, when set. */
  notBeforeInSeconds?: number;
}

export class TokenIssuer {
  private constructor(
    readonly alg: TestAlgorithm,
    readonly kid: string,
    private readonly privateKey: CryptoKey,
    /** The public key as SPKI PEM (AUTH_JWT_PUBLIC_KEY). */
    readonly publicKeyPem: string,
    /** The public key as a JWK with its kid and alg (one entry of a JWKS). */
    readonly publicJwk: JWK,
    readonly issuer: string,
    readonly audience: string,
  ) {}

  /** A fresh key pair (once per run or test file: generating one takes a few ms to ~100 ms). */
  static async create(options: { alg?: TestAlgorithm; issuer?: string; audience?: string } = {}): Promise<TokenIssuer> {
    const alg = options.alg ?? 'RS256';
    const kid = randomUUID();
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    return new TokenIssuer(alg, kid, privateKey, await exportSPKI(publicKey), publicJwk, options.issuer ?? TEST_ISSUER, options.audience ?? TEST_AUDIENCE);
  }

  /** A signed JWT whose `sub` is `subject` (a user id, or anything a test wants to try). */
  mint(subject: string, options: MintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? this.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInSeconds ?? 3_600));
    if (options.notBeforeInSeconds !== undefined) jwt.setNotBefore(now + options.notBeforeInSeconds);
    return jwt.sign(this.privateKey);
  }

  /** The variables an API needs to accept these tokens, with the public key inline (no JWKS). */
  serverEnv(): Record<string, string> {
    return { AUTH_MODE: 'jwt', AUTH_JWT_PUBLIC_KEY: this.publicKeyPem, AUTH_JWT_ISSUER: this.issuer, AUTH_JWT_AUDIENCE: this.audience, AUTH_JWT_ALGORITHMS: this.alg };
  }
}
