import type http from 'node:http';

/** One HTTP route. Features export lists of these; the composition root hands them to the server. */
export interface Route {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** An exact path, or a RegExp matched against the whole path; its named groups become `params`. */
  path: string | RegExp;
  handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    params: Record<string, string>,
  ): Promise<void> | void;
}
