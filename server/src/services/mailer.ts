import type { Core } from '@strapi/strapi';

import type { MessageLogEntry } from '../../../shared/contracts/messages';
import type { OutgoingMessageInput } from '../engine/message';
import type { DeliveryReport, QueuedMessage, SendOptions } from '../engine/sending-engine';
import { getService } from '../utils/get-service';

/**
 * The developer API: `strapi.plugin('multi-smtp').service('mailer')`.
 *
 * - `send(message, options)` queues one message and returns `{ id, status: 'queued' }`;
 * - `sendNow(message, options)` sends at once with failover and returns the outcome;
 * - `sendBulk(messages, options)` queues many (all validated first);
 * - `status(id)` tells where a message is.
 *
 * Messages take what nodemailer takes (to, cc, bcc, from, replyTo, subject, text, html,
 * attachments with inline content, headers). Bad input throws a MessageValidationError whose
 * `errors` name each field; nothing of it is queued.
 */
const mailer = ({ strapi }: { strapi: Core.Strapi }) => {
  const engine = () => getService(strapi, 'engine').get();

  return {
    send(message: OutgoingMessageInput, options: SendOptions = {}): Promise<QueuedMessage> {
      return engine().send(message, options);
    },

    sendNow(message: OutgoingMessageInput, options: SendOptions = {}): Promise<DeliveryReport> {
      return engine().sendNow(message, options);
    },

    sendBulk(messages: OutgoingMessageInput[], options: Omit<SendOptions, 'idempotencyKey'> = {}): Promise<QueuedMessage[]> {
      return engine().sendBulk(messages, options);
    },

    /**
     * The message's current state: from the engine while it is in flight, else from the delivery
     * log. A bounce that arrives later (a DSN, a provider webhook) is recorded in the log only, so
     * for a message the engine saw accepted, the log's 'bounced' wins.
     */
    async status(id: string): Promise<MessageLogEntry | null> {
      const live = await engine().status(id);
      if (live && live.status !== 'sent') return live;
      const logged = await getService(strapi, 'messageLog').get(id);
      if (!live) return logged;
      return logged?.status === 'bounced' ? logged : live;
    },
  };
};

export type MailerService = ReturnType<typeof mailer>;
export default mailer;
