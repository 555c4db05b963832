/**
 * Endpoint secrets and signatures, per the Standard Webhooks specification
 * (github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * a secret is `whsec_` + base64 of random bytes; `webhook-signature` is `v1,` + base64 of
 * HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the decoded bytes.
 *
 * At rest the secret is encrypted (AES-256-GCM, the endpoint id as associated data) under a key
 * derived with HKDF from MASTER_API_KEY, so a copy of D1 alone cannot sign as the server. The
 * price: rotating MASTER_API_KEY makes existing endpoints' secrets unreadable; their deliveries are
 * then logged `failed` with `secret_unreadable` and the endpoints must be re-created.
 */
const encoder = new TextEncoder();
const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
const STORED_VERSION = "v1";

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

export function newWebhookSecret(): string {
  return SECRET_PREFIX + b64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** `v1,<base64 signature>` of one delivery attempt. */
export async function signPayload(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", unb64(secret.slice(SECRET_PREFIX.length)), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${b64(new Uint8Array(mac))}`;
}

async function storageKey(masterKey: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", encoder.encode(masterKey), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("docchat-edge/webhook-secrets"), info: encoder.encode(STORED_VERSION) },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** `v1.<iv>.<ciphertext>` (base64), bound to the endpoint id. */
export async function sealSecret(masterKey: string, webhookId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(webhookId) },
    await storageKey(masterKey),
    encoder.encode(secret),
  );
  return `${STORED_VERSION}.${b64(iv)}.${b64(new Uint8Array(ct))}`;
}

/** The secret, or null when it cannot be decrypted (another master key, or tampering). */
export async function openSecret(masterKey: string, webhookId: string, stored: string): Promise<string | null> {
  const [version, iv, ct] = stored.split(".");
  if (version !== STORED_VERSION || !iv || !ct) return null;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: unb64(iv), additionalData: encoder.encode(webhookId) },
      await storageKey(masterKey),
      unb64(ct),
    );
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}
