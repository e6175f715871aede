/**
 * Content API, under /api/multi-smtp/... Authenticated by an API token; a custom token needs the
 * plugin's "messagesApi.send" (and "messagesApi.status") permission, chosen in Settings > API Tokens.
 */
export default {
  type: 'content-api' as const,
  routes: [
    { method: 'POST', path: '/messages', handler: 'messagesApi.send', config: { policies: [] as string[] } },
    { method: 'GET', path: '/messages/:id', handler: 'messagesApi.status', config: { policies: [] as string[] } },
  ],
};
