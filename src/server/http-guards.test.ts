import { describe, expect, it } from 'vitest';
import { originAllowed } from './http-guards.ts';

const HOST = 'voice.example.com';

describe('originAllowed: may a page of this origin use the server?', () => {
  it.each([
    // origin, allowed origins, answer
    [undefined, [], true], // no Origin header: not a browser page
    ['https://voice.example.com', [], true], // same origin
    ['http://localhost:5173', [], true], // loopback
    ['http://127.0.0.1:3000', [], true],
    ['https://app.example.com', [], false],
    ['https://app.example.com', ['https://app.example.com'], true],
    ['https://app.example.com', ['https://other.example.com'], false],
    ['https://app.example.com', ['*'], true], // any origin
    ['null', ['https://app.example.com'], false], // an opaque origin
    ['ftp://app.example.com', ['https://app.example.com'], false],
  ] as const)('%s with %j → %s', (origin, allowedOrigins, answer) => {
    expect(originAllowed(origin, HOST, { allowedOrigins })).toBe(answer);
  });
});
