import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throw-away CA and a server certificate it signed, all PEM. */
export interface StandInCertificates {
  /** The CA certificate: what a client trusts (EKS hands it out as certificateAuthority.data). */
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
}

/**
 * Generates a CA and a server certificate for 127.0.0.1 / localhost with the machine's `openssl`
 * (P-256 keys, valid one day), the way an EKS cluster's CA signs its API server certificate. The key
 * files live in a private temporary directory only while openssl runs.
 */
export async function generateCertificates(commonName = 'k8s-standin'): Promise<StandInCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'k8s-standin-'));
  const at = (name: string) => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', ['req', '-x509', ...key, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '1', '-subj', `/CN=${commonName}-ca`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await run('openssl', ['req', '-new', ...key, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', `/CN=${commonName}`]);
    await writeFile(
      at('server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
    );
    await run('openssl', ['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
      '-out', at('server.crt'), '-days', '1', '-extfile', at('server.ext')]);
    const [caPem, serverCertPem, serverKeyPem] = await Promise.all(['ca.crt', 'server.crt', 'server.key'].map((f) => readFile(at(f), 'utf8')));
    return { caPem: caPem ?? '', serverCertPem: serverCertPem ?? '', serverKeyPem: serverKeyPem ?? '' };
  } catch (error) {
    throw new Error(`k8s stand-in: generating certificates with openssl failed (is openssl installed?): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
