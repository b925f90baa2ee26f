// Who a tool or test says it is, in each AUTH_MODE: a run's own token issuer (key pair, mint) and the client identities the load, the poller and the fetch client send.
export { TokenIssuer, TEST_AUDIENCE, TEST_ISSUER, type MintOptions, type TestAlgorithm } from './token-issuer.ts';
export { createClientIdentity, trustedHeaderIdentity, type ClientIdentity } from './client-identity.ts';
