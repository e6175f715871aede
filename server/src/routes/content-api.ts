/**
 * Content API, under /api/multi-smtp/... Authenticated by an API token; a custom token needs the
 * plugin's "messagesApi.send" (and "messagesApi.status") permission, chosen in Settings > API Tokens.
 */
export default {
  type: 'content-api' as const,
  routes: [
    { method: 'POST', path: '/messages', handler: 'messagesApi.send', config: { policies: [] as string[] } },
    { method: 'GET', path: '/messages/:id', handler: 'messagesApi.status', config: { policies: [] as string[] } },

    // Public: the unsubscribe link of campaign mail (no login; rate-limited per IP in the controller).
    { method: 'GET', path: '/unsubscribe', handler: 'unsubscribe.page', config: { auth: false, policies: [] as string[] } },
    { method: 'GET', path: '/unsubscribe/:token', handler: 'unsubscribe.page', config: { auth: false, policies: [] as string[] } },
    // Public with a bearer token of its own (config bounces.inboundToken; 404 without one): bounce and complaint messages.
    { method: 'POST', path: '/inbound', handler: 'inbound.receive', config: { auth: false, policies: [] as string[] } },
    // Public, authenticated by the providers' signatures (404 until configured): SES via SNS, SendGrid events.
    { method: 'POST', path: '/webhooks/ses', handler: 'webhooks.ses', config: { auth: false, policies: [] as string[] } },
    { method: 'POST', path: '/webhooks/sendgrid', handler: 'webhooks.sendgrid', config: { auth: false, policies: [] as string[] } },
    { method: 'POST', path: '/unsubscribe', handler: 'unsubscribe.confirm', config: { auth: false, policies: [] as string[] } },
    { method: 'POST', path: '/unsubscribe/:token', handler: 'unsubscribe.confirm', config: { auth: false, policies: [] as string[] } },

    // Public: open pixels and click redirects of tracked campaign mail (signed tokens; rate-limited per IP in the controller).
    { method: 'GET', path: '/track/open/:token', handler: 'tracking.open', config: { auth: false, policies: [] as string[] } },
    { method: 'GET', path: '/track/click/:token', handler: 'tracking.click', config: { auth: false, policies: [] as string[] } },

    // Public with a bearer token of its own (config metrics.token; 404 without one): Prometheus metrics.
    { method: 'GET', path: '/metrics', handler: 'metrics.scrape', config: { auth: false, policies: [] as string[] } },
  ],
};
