import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import type { Secret } from './config.js';

/**
 * Artifact signatures (`x-artifact-tag`), the way Turborepo computes them, so
 * a team that signs turbo's artifacts can sign ours with the same key:
 *
 *   tag = base64( HMAC-SHA256( key, utf8('{"hash":"<hash>","teamId":"<team>"}') ‖ body ) )
 *
 * - `<hash>` is the cache key (64 hex digits), the `:hash` of the URL;
 * - `<team>` is the configured team exactly as given (id or slug), "" without one;
 * - `body` is the exact bytes sent/received (the compressed archive);
 * - base64 is the standard alphabet without padding (turbo's encoding); padding is accepted when verifying.
 *
 * The key and team bind a tag to one artifact of one team: a tag copied to
 * another hash, or a body swapped under a valid tag, no longer verifies. The
 * server only stores the tag; it needs no key to do so.
 */

function signatureInput(hash: string, team: string): string {
  // Key order and spacing are part of the input: JSON.stringify of this literal gives exactly turbo's bytes.
  return JSON.stringify({ hash, teamId: team });
}

/** The HMAC of one artifact, fed the body as it arrives (`update`), read with `digest()`. */
export function artifactSigner(key: Secret, hash: string, team: string): Hmac {
  return createHmac('sha256', key.reveal()).update(signatureInput(hash, team));
}

export function artifactTag(key: Secret, hash: string, team: string, body: Buffer): string {
  return artifactSigner(key, hash, team).update(body).digest('base64').replace(/=+$/, '');
}

/** Why a downloaded artifact's tag is not acceptable, or null when it is. */
export function checkArtifactTag(key: Secret, hash: string, team: string, body: Buffer, tag: string | undefined): string | null {
  if (tag === undefined || tag === '') return 'it has no x-artifact-tag (signature)';
  return checkTagDigest(artifactSigner(key, hash, team).update(body).digest(), tag);
}

/** Why `tag` is not the signature whose HMAC digest is `expected` (an artifactSigner's), or null when it is. */
export function checkTagDigest(expected: Buffer, tag: string | undefined): string | null {
  if (tag === undefined || tag === '') return 'it has no x-artifact-tag (signature)';
  let actual: Buffer;
  try {
    actual = Buffer.from(tag.trim(), 'base64');
  } catch {
    return 'its x-artifact-tag is not base64';
  }
  if (actual.byteLength !== expected.byteLength || !timingSafeEqual(actual, expected)) {
    return 'its x-artifact-tag does not match (altered artifact, or signed with another key)';
  }
  return null;
}
