import type { asAdmin } from './strapi';

/**
 * Campaign test data through the admin API: lists, subscribers, campaigns, and the field errors of
 * a 400 answer. Each helper fails with the response when the API refuses the step.
 */

type Api = ReturnType<typeof asAdmin>;

const created = (what: string, response: { status: number; body: { data?: unknown } }) => {
  if (response.status !== 200 && response.status !== 201) {
    throw new Error(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body.data as Record<string, unknown> & { documentId: string };
};

export const createList = async (api: Api, name: string) => created(`creating list ${name}`, await api.post('/multi-smtp/lists', { name }));

export const createSubscriber = async (
  api: Api,
  subscriber: { email: string; lists?: string[]; name?: string | null; status?: string; attributes?: Record<string, unknown> }
) => created(`creating subscriber ${subscriber.email}`, await api.post('/multi-smtp/subscribers', subscriber));

export const createCampaign = async (api: Api, campaign: Record<string, unknown>) =>
  created(`creating campaign ${String(campaign.name)}`, await api.post('/multi-smtp/campaigns', campaign));

/** A campaign body that can start: subject, sender, a body and an audience of these lists. */
export const readyCampaign = (lists: string[], overrides: Record<string, unknown> = {}) => ({
  name: 'Newsletter',
  subject: 'Hello {{ recipient.name | default: "friend" }}',
  fromAddress: 'news@example.com',
  fromName: 'The News',
  html: '<p>Hi {{ recipient.name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  audience: { type: 'lists', lists },
  ...overrides,
});

/** A 400's field errors as { "path.to.field": message }. */
export const fieldErrors = (body: { error?: { details?: { errors?: { path: string[]; message: string }[] } } }) =>
  Object.fromEntries((body.error?.details?.errors ?? []).map((error) => [error.path.join('.'), error.message]));
