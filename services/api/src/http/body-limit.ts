import type { Request, RequestHandler, Response } from 'express';
import { HttpError } from '../errors/http-error.ts';
import { sendProblem } from '../errors/problem-middleware.ts';

/**
 * 413 as soon as a body is known to be too big, and the connection ends right after it.
 *
 * express.json alone refuses a declared Content-Length over its limit only after reading (and
 * discarding) the whole declared body, and a chunked one only once it has ended: a client declaring
 * 5 GB made the API read 5 GB. Here the answer goes out at once, with `Connection: close`, so Node
 * closes the socket once the answer is written, and nothing more of the body is read.
 *
 * - Content-Length over the limit: answered before any of the body is read.
 * - No Content-Length (chunked): the bytes are counted as the body parser reads them; the chunk
 *   that crosses the limit gets the answer (the parser gives up on the same chunk).
 */
export function refuseOversizedBodies(limitBytes: number): RequestHandler {
  const tooLarge = new HttpError('PAYLOAD_TOO_LARGE', `The request body is larger than ${limitBytes} bytes.`);
  const refuse = (req: Request, res: Response) => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    res.setHeader('Connection', 'close');
    sendProblem(res, tooLarge);
  };
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      // Node's parser has already refused a malformed Content-Length (400).
      if (Number(declared) > limitBytes) refuse(req, res);
      else next();
      return;
    }
    if (req.headers['transfer-encoding'] === undefined) {
      next();
      return;
    }
    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limitBytes) return;
      req.off('data', count);
      refuse(req, res);
    };
    // The body parser attaches its own reader in the same tick (next() is synchronous), before
    // the stream starts flowing: both see every chunk.
    req.on('data', count);
    next();
  };
}
