import os from 'node:os';

import type { Core } from '@strapi/strapi';

import { testEmailSchema, type ConnectionTestResult, type TestEmailResult } from '../../../shared/contracts/tests';
import { sendTestEmail, testConnection, type SmtpTimeouts } from '../engine/smtp-probe';
import { getService } from '../utils/get-service';
import { parseInput } from '../utils/validation';

/** "Test connection" and "Send test email" for one saved server. */
const serverTests = ({ strapi }: { strapi: Core.Strapi }) => {
  const timeouts = (): SmtpTimeouts => {
    const { smtp } = getService(strapi, 'runtime').config();
    return {
      connectionTimeoutMs: smtp.connectionTimeoutMs,
      greetingTimeoutMs: smtp.greetingTimeoutMs,
      socketTimeoutMs: smtp.socketTimeoutMs,
      ehloName: smtp.ehloName,
    };
  };

  return {
    async testConnection(documentId: string): Promise<ConnectionTestResult> {
      const { endpoint } = await getService(strapi, 'servers').endpoint(documentId);
      return testConnection(endpoint, timeouts());
    },

    async sendTestEmail(documentId: string, input: unknown): Promise<TestEmailResult> {
      const { to, subject, text } = parseInput(testEmailSchema, input);
      const { server, endpoint } = await getService(strapi, 'servers').endpoint(documentId);
      // A server without its own sender falls back to its login when that is an address.
      const fromAddress =
        server.fromAddress ?? (server.username?.includes('@') ? server.username : `multi-smtp@${os.hostname()}`);
      const from = server.fromName ? { name: server.fromName, address: fromAddress } : fromAddress;
      const body =
        text ??
        `This is a test email from the Multi SMTP plugin, sent through the server "${server.name}" ` +
          `(${server.host}:${server.port}) at ${new Date().toISOString()}.`;
      return sendTestEmail(endpoint, timeouts(), { from, to, subject, text: body });
    },
  };
};

export type ServerTestsService = ReturnType<typeof serverTests>;
export default serverTests;
