/**
 * The HTTP pieces of forwarding (forward/http-bytes.ts): the headers a relay
 * passes on, and the request head replayed on a handed-over connection,
 * parsed back by node's own HTTP parser.
 */
import http from "node:http";
import { describe, expect, it } from "vitest";
import { endToEndHeaders, readBody, requestHead } from "../../src/forward/http-bytes.js";
import { memoryConnection } from "../../src/forward/memory-socket.js";

/** Feeds raw bytes to a private http server; resolves with the request it parsed and its body. */
function parse(bytes: Buffer): Promise<{ req: http.IncomingMessage; body: Buffer }> {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        resolve({ req, body: Buffer.concat(chunks) });
        res.end();
      });
    });
    const [client, end] = memoryConnection();
    server.emit("connection", end);
    client.on("data", () => {});
    client.write(bytes);
  });
}

describe("relayed headers", () => {
  it("drops hop-by-hop headers and those the Connection header names, keeps the rest in order", () => {
    const raw = ["Host", "h", "Connection", "keep-alive, X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=5", "Set-Cookie", "a=1",
      "Transfer-Encoding", "chunked", "Content-Length", "3", "Upgrade", "websocket", "Expect", "100-continue", "Set-Cookie", "b=2", "TE", "trailers"];
    expect(endToEndHeaders(raw)).toEqual(["Host", "h", "Set-Cookie", "a=1", "Set-Cookie", "b=2"]);
  });

  it("turns an HTTP/2 request's pseudo-headers into what HTTP/1 carries", () => {
    expect(endToEndHeaders([":method", "GET", ":path", "/x", ":authority", "example.com", ":scheme", "https", "accept", "*/*"])).toEqual([
      "Host",
      "example.com",
      "accept",
      "*/*",
    ]);
  });
});

describe("the request head of a handed-over connection", () => {
  it("replays method, url, headers and a de-chunked body that node parses back the same", async () => {
    const original = await parse(
      Buffer.from("POST /socket.io/?EIO=4&sid=x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
    );
    expect(original.body.toString()).toBe("abcde");
    const replay = await parse(Buffer.concat([requestHead(original.req, original.body.length), original.body]));
    expect(replay.req.method).toBe("POST");
    expect(replay.req.url).toBe("/socket.io/?EIO=4&sid=x");
    expect(replay.req.rawHeaders).toEqual(["Host", "h", "X-A", "1", "X-A", "2", "Content-Length", "5"]);
    expect(replay.body.toString()).toBe("abcde");
  });

  it("keeps HTTP/1.0 and adds no length to a GET without body", async () => {
    const original = await parse(Buffer.from("GET /x HTTP/1.0\r\nHost: h\r\n\r\n"));
    const head = requestHead(original.req, 0).toString("latin1");
    expect(head).toBe("GET /x HTTP/1.0\r\nHost: h\r\n\r\n");
  });

  it("reads a body within its bound, and says when it is larger or aborted", async () => {
    const results: unknown[] = [];
    const server = http.createServer((req) => readBody(req, 4, (body, why) => results.push(body?.toString() ?? why)));
    const send = (bytes: string) => {
      const [client, end] = memoryConnection();
      server.emit("connection", end);
      client.on("data", () => {});
      client.write(bytes);
      return client;
    };
    send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    await new Promise((r) => setTimeout(r, 30));
    send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n");
    await new Promise((r) => setTimeout(r, 30));
    send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n");
    await new Promise((r) => setTimeout(r, 30));
    const aborted = send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n");
    await new Promise((r) => setTimeout(r, 30));
    aborted.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(results).toEqual(["abc", "too large", "too large", "aborted"]);
  });
});
