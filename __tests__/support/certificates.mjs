// Throwaway X.509 material for mTLS tests, made with the openssl CLI (node:crypto can read
// certificates but cannot issue them, and no certificate-issuing package is a dependency).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENSSL = process.env.OPENSSL ?? 'openssl';

// One explicit config for every certificate: the distribution's openssl.cnf would add its own
// extensions (or refuse -addext duplicates), and rustls/webpki are strict about CA vs leaf
// extensions, so everything the certificates carry is spelled out here.
const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:client.example.test,email:client@example.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[self_signed_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
`;

/** The DN of the CA-signed client certificate, as RFC 4514 writes it (most specific first). */
export const CLIENT_SUBJECT_DN = 'CN=mtls-client,O=MonoCloud Test';
export const CLIENT_SAN_DNS = 'client.example.test';

/**
 * Makes, in a fresh temporary folder: a CA; a server certificate for 127.0.0.1 signed by it;
 * a client certificate signed by it (for tls_client_auth); two self-signed client
 * certificates (self_signed_tls_client_auth, and a stranger for negative tests).
 * Each entry has PEM text (`cert`, `key`) and file paths (`certPath`, `keyPath`).
 * Call `remove()` when done.
 */
export function makeTestCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-certs-'));
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, CONFIG);
  const path = (name) => join(dir, name);
  const openssl = (...args) => execFileSync(OPENSSL, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });

  function newKey(name, kind) {
    // genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), which every TLS stack reads.
    if (kind === 'rsa') openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path(`${name}.key`));
    else openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(`${name}.key`));
    return path(`${name}.key`);
  }

  function selfSigned(name, subject, extensions, kind) {
    const keyPath = newKey(name, kind);
    openssl('req', '-config', config, '-x509', '-new', '-key', keyPath, '-subj', subject, '-days', '2',
      '-extensions', extensions, '-out', path(`${name}.pem`));
    return entry(name);
  }

  let serial = 1000;
  function signed(name, subject, extensions, kind) {
    const keyPath = newKey(name, kind);
    openssl('req', '-config', config, '-new', '-key', keyPath, '-subj', subject, '-out', path(`${name}.csr`));
    serial += 1;
    openssl('x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.pem'), '-CAkey', path('ca.key'),
      '-set_serial', String(serial), '-days', '2', '-extfile', config, '-extensions', extensions,
      '-out', path(`${name}.pem`));
    return entry(name);
  }

  function entry(name) {
    const certPath = path(`${name}.pem`);
    const keyPath = path(`${name}.key`);
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
  }

  try {
    const ca = selfSigned('ca', '/CN=MonoCloud Test CA', 'ca_ext', 'ec');
    const server = signed('server', '/CN=127.0.0.1', 'server_ext', 'ec');
    // -subj is written in ASN.1 order (least specific first): O then CN.
    const client = signed('client', '/O=MonoCloud Test/CN=mtls-client', 'client_ext', 'ec');
    // RSA here so both key types go through the addon's PEM identity loading.
    const selfSignedClient = selfSigned('self-signed-client', '/CN=self-signed-client', 'self_signed_ext', 'rsa');
    const stranger = selfSigned('stranger', '/CN=stranger', 'self_signed_ext', 'ec');
    return {
      dir, ca, server, client, selfSignedClient, stranger,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
