import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * Signed test messages, with keys generated at test time: DKIM signatures and ARC seals made
 * by mailauth's signer (the verifier under test is also mailauth's, but fed through our DNS
 * client and judged by our rules). `txt` is the DNS TXT value that publishes a key.
 */
const require = createRequire(import.meta.url);
const { dkimSign } = require('mailauth/lib/dkim/sign') as {
  dkimSign: (
    input: Buffer,
    options: {
      canonicalization?: string;
      signTime?: Date;
      expires?: Date;
      signatureData: {
        signingDomain: string;
        selector: string;
        privateKey: string;
        algorithm?: string;
        canonicalization?: string;
        maxBodyLength?: number;
      }[];
    },
  ) => Promise<{ signatures: string; errors: unknown[] }>;
};
const { authenticate } = require('mailauth') as {
  authenticate: (input: Buffer, options: Record<string, unknown>) => Promise<{ headers: string }>;
};

export interface TestKey {
  privateKey: string;
  /** "v=DKIM1; k=rsa; p=…" */
  txt: string;
  bits: number;
}

export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    txt: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
    bits,
  };
}

export function ed25519Key(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    txt: `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}`,
    bits: 256,
  };
}

/** A plain message: headers (CRLF line ends) and a body. */
export function message(headers: Record<string, string> | [string, string][], body: string): Buffer {
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  return Buffer.from(
    `${list.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`,
  );
}

export async function sign(
  msg: Buffer,
  key: TestKey,
  domain: string,
  selector: string,
  options: { maxBodyLength?: number; expires?: Date; algorithm?: string } = {},
): Promise<Buffer> {
  const out = await dkimSign(msg, {
    canonicalization: 'relaxed/relaxed',
    ...(options.expires ? { expires: options.expires } : {}),
    signatureData: [
      {
        signingDomain: domain,
        selector,
        privateKey: key.privateKey,
        ...(options.algorithm ? { algorithm: options.algorithm } : {}),
        ...(options.maxBodyLength !== undefined ? { maxBodyLength: options.maxBodyLength } : {}),
      },
    ],
  });
  return Buffer.concat([Buffer.from(out.signatures), msg]);
}

/** Prepends headers (trace headers a receiver adds), top first. */
export function prepend(msg: Buffer, headers: [string, string][]): Buffer {
  return Buffer.concat([Buffer.from(headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')), msg]);
}

/**
 * An ARC seal as a forwarder would add it: mailauth authenticates the message (with a DNS
 * table of its own) and seals it with `key` at `selector._domainkey.domain`.
 */
export async function arcSeal(
  msg: Buffer,
  key: TestKey,
  domain: string,
  selector: string,
  dns: Record<string, string>,
  envelope: { ip: string; helo: string; sender: string; mta: string },
): Promise<Buffer> {
  const resolver = async (name: string, type: string): Promise<string[][]> => {
    const value = type === 'TXT' ? dns[name] : undefined;
    if (value === undefined) throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    return [[value]];
  };
  const out = await authenticate(msg, {
    ...envelope,
    resolver,
    disableBimi: true,
    seal: { signingDomain: domain, selector, privateKey: key.privateKey },
  });
  // Only the ARC headers: the forwarder's Authentication-Results are not the receiver's.
  const arc = out.headers
    .split(/\r\n(?=\S)/)
    .filter((h) => /^ARC-/i.test(h))
    .join('\r\n');
  return Buffer.concat([Buffer.from(`${arc}\r\n`), msg]);
}
