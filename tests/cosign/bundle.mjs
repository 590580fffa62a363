// SPDX-License-Identifier: Apache-2.0
// Sigstore bundles made and checked by the Sigstore JavaScript libraries
// (@sigstore/sign, @sigstore/bundle, @sigstore/verify from npm, versions
// pinned in tests/cosign/npm/package-lock.json, installed by
// tests/cosign/npm-install outside the checkout), with a LOCAL key: no
// Fulcio, no Rekor, no TSA. Independent of cosign_registry.py's bundles.
//
//   node bundle.mjs sign KEY.pem STATEMENT_FILE        -> bundle JSON on stdout
//   node bundle.mjs verify PUB.pem BUNDLE_FILE         -> {"payloadType",
//        "statement"} on stdout, exit 0 when the signature verifies, else 1
//
// The signer is ours (node:crypto over the PAE the library hands it); the
// envelope, PAE and bundle layout are the library's. The verifier is the
// library's Verifier with tlog/ctlog/tsa thresholds 0 (key-based) and the
// hint resolved to PUB.pem; it checks the signature over the PAE with
// signatures[0] only (it ignores any further signature) and does not look
// at the statement: the caller checks subject and predicateType.
import { createRequire } from 'node:module';
import { createHash, createPrivateKey, createPublicKey, sign as csign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.KAIROS_SIGSTORE_NPM;
if (!dir) {
  console.error('bundle.mjs: KAIROS_SIGSTORE_NPM (the npm cache folder) is not set');
  process.exit(2);
}
const require = createRequire(path.join(dir, 'package.json'));
const { DSSEBundleBuilder } = require('@sigstore/sign');
const { bundleToJSON, bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const INTOTO = 'application/vnd.in-toto+json';

function hintOf(pub) {
  const der = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

// node:crypto's algorithm argument: null for Ed25519, SHA-256 otherwise
function algOf(key) {
  return key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
}

async function sign(keyFile, statementFile) {
  const priv = createPrivateKey(readFileSync(keyFile));
  const pub = createPublicKey(priv);
  const signer = {
    sign: async (data) => ({
      signature: csign(algOf(priv), data, priv),
      key: { $case: 'publicKey', publicKey: pub.export({ type: 'spki', format: 'pem' }), hint: hintOf(pub) },
    }),
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  const bundle = await builder.create({ data: readFileSync(statementFile), type: INTOTO });
  process.stdout.write(JSON.stringify(bundleToJSON(bundle)));
}

function verify(pubFile, bundleFile) {
  const pub = createPublicKey(readFileSync(pubFile));
  const hint = hintOf(pub);
  const bundle = bundleFromJSON(JSON.parse(readFileSync(bundleFile, 'utf8')));
  const trust = toTrustMaterial(
    { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
    (h) => {
      if (h !== hint) throw new Error(`unknown key hint ${h}`);
      return { publicKey: pub, validFor: () => true };
    });
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 });
  verifier.verify(toSignedEntity(bundle));
  const env = bundle.content.dsseEnvelope;
  process.stdout.write(JSON.stringify({ payloadType: env.payloadType, statement: JSON.parse(env.payload.toString()) }));
}

const [cmd, a, b] = process.argv.slice(2);
try {
  if (cmd === 'sign') await sign(a, b);
  else if (cmd === 'verify') verify(a, b);
  else { console.error('usage: bundle.mjs sign KEY STATEMENT | verify PUB BUNDLE'); process.exit(2); }
} catch (e) {
  console.error(`bundle.mjs: ${e.message || e}`);
  process.exit(1);
}
