/**
 * What the non-standard bounce formats of particular MTAs and providers say outright: their own
 * fixed phrases for a reason (from their sources or documentation), how they name the SMTP command
 * that failed, and how they mark a failure that followed temporary errors. Plain TypeScript.
 */

/** Header lookup the format tests need (lower-case name -> first value). */
export type HeaderGet = (name: string) => string | null;

export interface BounceFormat {
  name: string;
  /** Phrase -> reason, checked in order against one recipient's diagnostic text. */
  hints: Array<[RegExp, string]>;
  /**
   * When the message gives no status code, the code comes from the format's own reason (rather than
   * from the final one), temporary when the format retried before giving up.
   */
  statusFromHint?: boolean;
  /** Reasons that follow temporary failures in this format (a retry timeout, a full mailbox). */
  temporaryHints?: Set<string>;
}

/** Phrases distinctive enough to mean one thing whichever system wrote them. */
export const GLOBAL_HINTS: Array<[RegExp, string]> = [
  // Lotus Domino / Notes
  [/not listed in (?:the )?domino directory|not listed in public name & address book|non r[ée]pertori[ée] dans l'annuaire domino|no se encuentra en el directorio de domino/i, 'userunknown'],
  [/several matches found in domino directory/i, 'systemerror'],
  [/cannot route mail to user/i, 'filtered'],
  // Microsoft Exchange 2003 (MSEXCH diagnostic codes)
  [/msexch:[^\n]{0,200}\(000c05a6\)/i, 'userunknown'],
  [/msexch:[^\n]{0,200}\(000c0595\)/i, 'filtered'],
  [/msexch:[^\n]{0,200}\((?:00010256|000d06b5)\)/i, 'systemerror'],
  [/msexch:[^\n]{0,200}\(00120270\)/i, 'networkerror'],
  [/msexch:[^\n]{0,200}\((?:00050311|000502cc)\)/i, 'contenterror'],
  [/msexch:[^\n]{0,200}\(000b0981\)/i, 'securityerror'],
  // Verizon's MMS gateway
  [/no valid recipients for this mm\b/i, 'userunknown'],
  // Google Workspace / Gmail
  [/because the address couldn'?t be found\. check for typos/i, 'userunknown'],
  [/dns error: (?:domain name not found|dns server returned answer with no data)/i, 'hostunknown'],
  [/dns error: could not contact dns servers|the recipient server did not accept our requests to connect|delivery to the following recipient has been delayed/i, 'expired'],
  // DragonFly Mail Agent
  [/could not deliver for the last \d{1,12} seconds/i, 'expired'],
  [/dns lookup failure: host [^\s]{1,255} not found/i, 'hostunknown'],
  // OpenSMTPD
  [/\benvelope expired\b/i, 'expired'],
  [/destination seem to reject all mails|no mx found for (?:domain|destination)/i, 'notaccept'],
  [/address family mismatch on destination mxs|all routes to destination blocked|bad dns lookup error code|could not retrieve source address|network error on destination mxs|no valid route to (?:remote mx|destination)|temporary failure in mx lookup/i, 'networkerror'],
  [/could not retrieve credentials/i, 'securityerror'],
  // au (ezweb)
  [/your message was not delivered within \d/i, 'expired'],
  [/the user\(s\) account is temporarily over quota/i, 'mailboxfull'],
  [/the user\(s\) account is (?:disabled|temporarily limited)/i, 'suspend'],
  // Lotus Notes (Japanese): "not in the directory list"
  [/ディレクトリのリストにありません/, 'userunknown'],
  [/message has exceeded maximum hop count/i, 'networkerror'],
];

const EXIM_HINTS: Array<[RegExp, string]> = [
  [/user not found/i, 'userunknown'],
  [/all host address lookups failed permanently|all relevant mx records point to non-existent hosts|unrouteable address/i, 'hostunknown'],
  [/mailbox is full|error: quota exceed/i, 'mailboxfull'],
  [/an mx or srv record indicated no smtp service|no host found for existing smtp connection/i, 'notaccept'],
  [/angle-brackets nested too deep|expected word or "<"|domain missing in source-routed address|malformed address:/i, 'syntaxerror'],
  [/delivery to (?:file|pipe) forbidden|local delivery failed|lmtp error after /i, 'systemerror'],
  [/too many "received" headers/i, 'contenterror'],
  [/retry timeout exceeded|no action is required on your part|retry time not reached for any host after a long failure period|all hosts have been failing for a long time|delay reason: |has been frozen|was frozen on arrival/i, 'expired'],
  [/pipe to \|/i, 'mailererror'],
];

const QMAIL_HINTS: Array<[RegExp, string]> = [
  [/no mailbox here by that name|does not like recipient\./i, 'userunknown'],
  [/the message exeeded the maximum size the user accepts/i, 'exceedlimit'],
  [/disk quota exceeded/i, 'mailboxfull'],
  [/message size exceeds my databytes limit/i, 'mesgtoobig'],
  [/automatic homedir creator crashed|illegal value in ldap attribute|temporary error in dns|unable to chdir to maildir|unable to open mailbox|mail server permanently rejected message|this message is looping/i, 'systemerror'],
  [/sorry, i couldn'?t find any host (?:named|by that name)/i, 'hostunknown'],
  [/sorry, i wasn'?t able to establish an smtp connection|connected to .{1,200} but connection died|i'?m not going to try again; this message has been in the queue too long/i, 'expired'],
  [/sorry\. although i'?m listed as a best-preference mx or a for that host/i, 'notaccept'],
];

export const FORMATS: Record<string, BounceFormat> = {
  exim: {
    name: 'exim',
    hints: EXIM_HINTS,
    statusFromHint: true,
    temporaryHints: new Set(['expired', 'mailboxfull']),
  },
  eximlike: { name: 'eximlike', hints: EXIM_HINTS },
  qmail: { name: 'qmail', hints: QMAIL_HINTS },
  imail: {
    name: 'imail',
    hints: [
      [/unknown host/i, 'hostunknown'],
      [/unknown user|invalid final delivery userid/i, 'userunknown'],
      [/user mailbox exceeds allowed size/i, 'mailboxfull'],
      [/requested action not taken: virus detected/i, 'virusdetected'],
      [/delivery failed \d/i, 'expired'],
    ],
  },
  mcafee: {
    name: 'mcafee',
    hints: [[/ user not exist| unknown\.|550 unknown user |no such user/i, 'userunknown']],
  },
  outlook: {
    name: 'outlook',
    hints: [[/requested action not taken: mailbox unavailable/i, 'userunknown']],
  },
  zoho: { name: 'zoho', hints: [[/host not reachable/i, 'expired']] },
  messagelabs: {
    name: 'messagelabs',
    hints: [
      [/no such user/i, 'userunknown'],
      [/please turn on smtp authentication in your mail client/i, 'securityerror'],
    ],
  },
};

/** Which format wrote a bounce, from its headers and the start of its text. */
export function detectFormat(get: HeaderGet, text: string): BounceFormat | null {
  const from = get('from') ?? '';
  const head = text.slice(0, 4000);
  const received = get('received') ?? '';
  if (/hi\. this is the qmail|this is the qmail-send program|qmail-send program at/i.test(head)) return FORMATS.qmail!;
  if (
    /this message was created automatically by mail delivery software/i.test(head) ||
    get('x-failed-recipients')
  ) {
    if (/^\s*"?mail delivery system"?\s*</i.test(from) || /\(exim [\d.]{1,20}\)/i.test(received))
      return FORMATS.exim!;
    if (!/gmx\.|web\.de|1und1|1and1/i.test(from)) return FORMATS.eximlike!;
  }
  if (/^<?smtp32|imail/i.test(get('x-mailer') ?? '') || /body of message generated response:/i.test(head))
    return FORMATS.imail!;
  if (/--- the following addresses had delivery problems ---/i.test(head) || get('x-nai-header'))
    return FORMATS.mcafee!;
  if (
    /@(?:[a-z0-9-]{1,60}\.)?(?:hotmail|outlook|live|msn)\.[a-z.]{2,10}>?\s*$/i.test(from) ||
    (get('x-message-delivery') && get('x-message-info'))
  )
    return FORMATS.outlook!;
  if (/@(?:[a-z0-9-]{1,60}\.)?zoho\.com/i.test(from)) return FORMATS.zoho!;
  if (/messagelabs|symanteccloud/i.test(`${from} ${received}`)) return FORMATS.messagelabs!;
  return null;
}

/** The reason a format's (or a distinctive) phrase states, or null. */
export function hintOf(format: BounceFormat | null, text: string): string | null {
  if (!text) return null;
  const t = text.length > 4000 ? text.slice(0, 4000) : text;
  if (format) for (const [re, reason] of format.hints) if (re.test(t)) return reason;
  for (const [re, reason] of GLOBAL_HINTS) if (re.test(t)) return reason;
  return null;
}

/** The SMTP command an MTA names in its own words ("SMTP error from remote mail server after RCPT TO"). */
export function commandOfText(text: string): string | null {
  const m =
    /SMTP error from remote (?:mail server|mailer|server) after (?:end of )?([A-Za-z]{4})/.exec(text) ??
    /LMTP error after (?:end of )?([A-Za-z]{4})/.exec(text) ??
    /\(in reply to (?:end of )?([A-Za-z]{4})[^)]{0,40}\)/.exec(text) ??
    /in reply to (?:end of )?([A-Z]{4})\b/.exec(text);
  if (!m) return null;
  const c = (m[1] ?? '').toUpperCase();
  return ['HELO', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'CONN', 'AUTH', 'STAR', 'QUIT'].includes(c)
    ? c === 'STAR'
      ? 'STARTTLS'
      : c
    : null;
}
