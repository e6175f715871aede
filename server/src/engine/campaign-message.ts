import type { OutgoingMessageInput } from './message';
import type { RenderedCampaign } from './template';

/** The campaign fields that make the envelope of each of its messages. */
export interface CampaignSender {
  documentId: string;
  fromName: string | null;
  fromAddress: string | null;
  replyTo: string | null;
}

/**
 * One campaign message as the engine takes it: the campaign's sender, the rendered parts, the
 * recipient's List-Unsubscribe headers and an X-Campaign-ID header (bounce and complaint handling
 * tie a reply back to its campaign with it). An empty part is left out rather than sent empty.
 */
export const campaignMessage = (
  campaign: CampaignSender,
  to: string | { name: string; address: string },
  rendered: RenderedCampaign,
  unsubscribeHeaders: Record<string, string>
): OutgoingMessageInput => ({
  from: campaign.fromAddress ? { name: campaign.fromName ?? '', address: campaign.fromAddress } : undefined,
  to,
  replyTo: campaign.replyTo ?? undefined,
  subject: rendered.subject,
  html: rendered.html || undefined,
  text: rendered.text || undefined,
  headers: { ...unsubscribeHeaders, 'X-Campaign-ID': campaign.documentId },
});
