export { GATEWAY_HEADERS, gatewayHeaders, gatewaySignature, verifyGatewaySignature } from './gateway-signature.ts';
