import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * A provider's signature verification key as configured: PEM ("-----BEGIN PUBLIC KEY-----"), or
 * the base64 of its DER SubjectPublicKeyInfo as SendGrid shows it. Throws on anything else.
 */
export const parsePublicKey = (text: string): KeyObject =>
  text.includes('-----BEGIN')
    ? createPublicKey(text)
    : createPublicKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });

/** True for an elliptic-curve public key (SendGrid signs its event webhook with ECDSA P-256). */
export const isEcPublicKey = (text: string): boolean => {
  try {
    return parsePublicKey(text).asymmetricKeyType === 'ec';
  } catch {
    return false;
  }
};
