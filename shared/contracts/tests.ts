import { z } from 'zod';

import { emailAddress, singleLine } from './common';

/** The steps of an SMTP session, in order; a failed test names the one that failed. */
export const SMTP_STEPS = ['connect', 'greeting', 'ehlo', 'starttls', 'tls', 'auth', 'mail', 'rcpt', 'data', 'quit'] as const;
export type SmtpStep = (typeof SMTP_STEPS)[number];

export interface StepTiming {
  step: SmtpStep;
  ms: number;
}

export interface ConnectionTestResult {
  ok: boolean;
  /** The step that failed; null when ok. */
  failedStep: SmtpStep | null;
  /** The server's reply at the failing step (or the final reply when ok), e.g. "535 5.7.8 Authentication failed". */
  reply: string | null;
  /** Machine code of the failure (ECONNREFUSED, ETIMEDOUT, EAUTH, ETLS, ...). */
  errorCode: string | null;
  /** A sentence for the admin: what went wrong and what to check. */
  message: string;
  /** What the server announced in EHLO: STARTTLS, AUTH mechanisms, SIZE... */
  capabilities: string[];
  steps: StepTiming[];
  totalMs: number;
}

export const testEmailSchema = z.strictObject({
  to: emailAddress(),
  subject: singleLine(200).default('Test email from Multi SMTP'),
  text: z.string().max(10000, { error: 'must be at most 10000 characters' }).optional(),
});

export type TestEmailInput = z.input<typeof testEmailSchema>;

export interface TestEmailResult {
  ok: boolean;
  accepted: string[];
  rejected: string[];
  failedStep: SmtpStep | null;
  /** The server's last reply (the answer to DATA when accepted). */
  reply: string | null;
  errorCode: string | null;
  message: string;
  messageId: string | null;
  totalMs: number;
}
