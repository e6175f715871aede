// Fixed demo secrets. Never reuse them outside this playground.
module.exports = () => ({
  auth: { secret: 'multi-smtp-demo-admin-jwt-secret' },
  apiToken: { salt: 'multi-smtp-demo-api-token-salt' },
  transfer: { token: { salt: 'multi-smtp-demo-transfer-token-salt' } },
  secrets: { encryptionKey: 'multi-smtp-demo-admin-encryption-key' },
  // No survey or Enterprise banners popping up over the demo.
  flags: { nps: false, promoteEE: false },
});
