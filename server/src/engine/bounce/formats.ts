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
  /** The provider's own meaning of its enhanced status codes (checked before the phrases). */
  statusHints?: Array<[RegExp, string]>;
}

/** A host of Microsoft 365: its status codes mean what Microsoft says. */
const MICROSOFT_REMOTE = /\.(?:outbound\.protection|protection|prod)\.outlook\.com\b/i;

/** Microsoft 365 / Exchange Online's own enhanced status codes (NDR documentation). */
const MICROSOFT_STATUS: Array<[RegExp, string]> = [
  [/^4\.4\.7$/, 'expired'],
  [/^4\.4\.312$/, 'networkerror'],
  [/^4\.4\.316$/, 'expired'],
  [/^4\.7\.26$/, 'authfailure'],
  [/^4\.7\.[56]\d\d$/, 'blocked'],
  [/^4\.7\.8[5-9]\d$/, 'blocked'],
  [/^5\.0\.350$/, 'contenterror'],
  [/^5\.1\.10$/, 'userunknown'],
  [/^5\.4\.1$/, 'norelaying'],
  [/^5\.4\.312$/, 'networkerror'],
  [/^5\.4\.316$/, 'expired'],
  [/^5\.4\.6$/, 'networkerror'],
  [/^5\.6\.11$/, 'contenterror'],
  [/^5\.7\.1$/, 'rejected'],
  [/^5\.7\.1[23]$/, 'rejected'],
  [/^5\.7\.124$/, 'rejected'],
  [/^5\.7\.13[3-6]$/, 'rejected'],
  [/^5\.7\.23$/, 'authfailure'],
  [/^5\.7\.25$/, 'networkerror'],
  [/^5\.7\.50[1-3]$/, 'spamdetected'],
  [/^5\.7\.50[45]$/, 'filtered'],
  [/^5\.7\.50[67]$/, 'blocked'],
  [/^5\.7\.508$/, 'toomanyconn'],
  [/^5\.7\.509$/, 'authfailure'],
  [/^5\.7\.510$/, 'notaccept'],
  [/^5\.7\.511$/, 'rejected'],
  [/^5\.7\.512$/, 'authfailure'],
  [/^5\.7\.57$/, 'securityerror'],
  [/^5\.7\.60[6-9]$/, 'blocked'],
  [/^5\.7\.6[1-4]\d$/, 'blocked'],
  [/^5\.7\.7[0-4]\d$/, 'toomanyconn'],
];

/** Microsoft 365's answers: a status code with the phrase that goes with it (NDR documentation). */
const MICROSOFT_ANSWERS: Array<[RegExp, RegExp, string]> = [
  [/^5\.1\.1$/, /resolver\.adr\.exrecipnotfound|user unknown|bad destination mailbox address/i, 'userunknown'],
  [/^5\.1\.3$/, /storedrv\.submit; invalid recipient address/i, 'userunknown'],
  [/^5\.1\.10$/, /recipient not found/i, 'userunknown'],
  [/^5\.4\.1$/, /recipient address rejected: access denied/i, 'userunknown'],
  [/^5\.5\.0$/, /requested action not taken: mailbox unavailable/i, 'userunknown'],
  [/^5\.4\.1$/, /relay access denied/i, 'norelaying'],
  [/^5\.7\.1$/, /unable to relay|client was not authenticated/i, 'norelaying'],
  [/^5\.7\.1$/, /delivery not authorized/i, 'rejected'],
  [/^5\.2\.2$/, /submission quota exceeded/i, 'speeding'],
  [/^5\.2\.2$/, /mailbox full/i, 'mailboxfull'],
  [/^5\.2\.1$/, /mailbox cannot be accessed/i, 'suspend'],
  [/^5\.7\.(?:60[6-9]|6[1-4]\d)$/, /banned sending ip/i, 'blocked'],
  [/^5\.7\.509$/, /does not pass dmarc verification/i, 'authfailure'],
  [/^5\.7\.23$/, /sender policy framework violation/i, 'authfailure'],
  [/^4\.4\.7$/, /message (?:expired|delayed)/i, 'expired'],
  [/^5\.4\.300$/, /message expired/i, 'expired'],
];

/** GoDaddy's own rejection codes ("IB" codes in its answers). */
const GODADDY_CODES: Record<string, string> = {
  IB401: 'securityerror',
  IB501: 'notcompliantrfc',
  IB502: 'notcompliantrfc',
  IB506: 'rejected',
  IB508: 'authfailure',
  IB108: 'requireptr',
  IB212: 'spamdetected',
  IB705: 'virusdetected',
  IB605: 'toomanyconn',
  IB007: 'toomanyconn',
  IB101: 'speeding',
  IB110: 'blocked',
  IB111: 'blocked',
  IB112: 'blocked',
  IB113: 'blocked',
  IB504: 'speeding',
  IB510: 'speeding',
  IB607: 'speeding',
  IB103: 'badreputation',
  IB104: 'blocked',
  IB105: 'blocked',
  IB106: 'blocked',
};

/** Orange / La Poste (France) error codes: the last three digits of "LPN007_426", "OFR_506"... */
const ORANGE_CODES: Record<string, string> = {
  '101': 'blocked',
  '102': 'blocked',
  '103': 'blocked',
  '104': 'toomanyconn',
  '305': 'securityerror',
  '401': 'authfailure',
  '402': 'securityerror',
  '403': 'rejected',
  '405': 'rejected',
  '415': 'rejected',
  '416': 'userunknown',
  '417': 'mailboxfull',
  '420': 'suspend',
  '421': 'rejected',
  '426': 'suspend',
  '505': 'systemerror',
  '506': 'spamdetected',
  '510': 'blocked',
  '514': 'mesgtoobig',
  '517': 'authfailure',
  '630': 'policyviolation',
  '999': 'blocked',
};

/** Yahoo Inc's answers (its MX hosts are *.yahoodns.net). */
const YAHOO_ANSWERS: Array<[RegExp, string]> = [
  [/yahoo requires all senders to authenticate with either spf or dkim/i, 'authfailure'],
  [/because the ip is in spamhaus's list;|not accepted from ip addresses on spamhaus xbl/i, 'blocked'],
  [/relaying denied for /i, 'norelaying'],
  [/headers are not rfc compliant/i, 'notcompliantrfc'],
  [/not accepted for policy reasons/i, 'policyviolation'],
  [
    /temporarily deferred due to unexpected volume or user complaints|due to unresolvable rfc\.5321 domain| will be permanently deferred/i,
    'rejected',
  ],
  [/user is receiving mail too quickly/i, 'speeding'],
  [/ is no longer valid\.|this mailbox is disabled/i, 'suspend'],
  [/max message per connection reached/i, 'toomanyconn'],
  [/dd this user doesn'?t have a |mailbox not found/i, 'userunknown'],
];

export interface ProviderFacts {
  /** The remote and reporting MTAs' names. */
  hosts: string;
  recipient: string;
  status: string | null;
  command: string | null;
  text: string;
}

/**
 * What a known receiving provider's answer means, by its own codes: Microsoft 365 (status code and
 * phrase), GoDaddy (IB codes), Orange / La Poste (LPN/OFR codes), Yahoo, NTT docomo. The answer
 * is final: these providers document what their codes mean.
 */
export function providerHint(f: ProviderFacts): string | null {
  const { hosts, status } = f;
  const text = f.text;
  if (!text && !/@docomo\.ne\.jp$/i.test(f.recipient)) return null;
  const t = text.slice(0, 4000);
  const orange = /\b(?:LPN|LPNAAA|OFR|OUK)(?:_\d{3}|\d{3}[-_]\d{3})\b/i.exec(t);
  if (orange) return ORANGE_CODES[orange[0].slice(-3)] ?? 'undefined';
  if (/\.yahoodns\.net\b/i.test(hosts)) for (const [re, reason] of YAHOO_ANSWERS) if (re.test(t)) return reason;
  if (/@docomo\.ne\.jp$/i.test(f.recipient) || /mfsmax\.docomo\.ne\.jp/i.test(hosts)) {
    if (status === '5.1.1' || status === '5.0.911') return 'userunknown';
    if (status === '5.2.0') return 'filtered';
    if (/552 too much mail data/i.test(t)) return 'mailboxfull';
    if (/552 too many recipients/i.test(t)) return 'toomanyconn';
    if (/503 bad sequence of commands|504 command parameter not implemented/i.test(t)) return 'syntaxerror';
    if (status === '5.0.0' && f.command === 'RCPT') return 'userunknown';
    if (status === '5.0.0' && f.command === 'DATA') return 'rejected';
  }
  if (status && (MICROSOFT_REMOTE.test(hosts) || MICROSOFT_REMOTE.test(t))) {
    for (const [code, phrase, reason] of MICROSOFT_ANSWERS) if (code.test(status) && phrase.test(t)) return reason;
  }
  if (/secureserver\.net/i.test(hosts) || /secureserver\.net|x\.co\/rlbounce/i.test(t)) {
    const code = /\b(IB\d{3})\b/.exec(t);
    if (code && GODADDY_CODES[code[1]!]) return GODADDY_CODES[code[1]!]!;
    if (/www\.spamhaus\.org\/query\/bl\?ip=|rbl reject/i.test(t)) return 'blocked';
  }
  return null;
}

/** PowerMTA's bounce categories (X-PowerMTA-BounceCategory). */
export const POWERMTA_CATEGORIES: Record<string, string> = {
  'bad-domain': 'hostunknown',
  'bad-mailbox': 'userunknown',
  'inactive-mailbox': 'suspend',
  'message-expired': 'expired',
  'no-answer-from-host': 'networkerror',
  'policy-related': 'policyviolation',
  'quota-issues': 'mailboxfull',
  'routing-errors': 'systemerror',
  'spam-related': 'spamdetected',
};

/** Phrases distinctive enough to mean one thing whichever system wrote them. */
export const GLOBAL_HINTS: Array<[RegExp, string]> = [
  // Lotus Domino / Notes
  [
    /not listed in (?:the )?domino directory|not listed in public name & address book|non r[ée]pertori[ée] dans l'annuaire domino|no se encuentra en el directorio de domino/i,
    'userunknown',
  ],
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
  [
    /dns error: could not contact dns servers|the recipient server did not accept our requests to connect|delivery to the following recipient has been delayed/i,
    'expired',
  ],
  // DragonFly Mail Agent
  [/could not deliver for the last \d{1,12} seconds/i, 'expired'],
  [/dns lookup failure: host [^\s]{1,255} not found/i, 'hostunknown'],
  // OpenSMTPD
  [/\benvelope expired\b/i, 'expired'],
  [/destination seem to reject all mails|no mx found for (?:domain|destination)/i, 'notaccept'],
  [
    /address family mismatch on destination mxs|all routes to destination blocked|bad dns lookup error code|could not retrieve source address|network error on destination mxs|no valid route to (?:remote mx|destination)|temporary failure in mx lookup/i,
    'networkerror',
  ],
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
  [
    /all host address lookups failed permanently|all relevant mx records point to non-existent hosts|unrouteable address/i,
    'hostunknown',
  ],
  [/mailbox is full|error: quota exceed/i, 'mailboxfull'],
  [/an mx or srv record indicated no smtp service|no host found for existing smtp connection/i, 'notaccept'],
  [
    /angle-brackets nested too deep|expected word or "<"|domain missing in source-routed address|malformed address:/i,
    'syntaxerror',
  ],
  [/delivery to (?:file|pipe) forbidden|local delivery failed|lmtp error after /i, 'systemerror'],
  [/too many "received" headers/i, 'contenterror'],
  [
    /retry timeout exceeded|no action is required on your part|retry time not reached for any host after a long failure period|all hosts have been failing for a long time|delay reason: |has been frozen|was frozen on arrival/i,
    'expired',
  ],
  [/pipe to \|/i, 'mailererror'],
];

const QMAIL_HINTS: Array<[RegExp, string]> = [
  // qmail-send's own words (error_str.c, qmail-remote.c), then its LDAP patches' words.
  [/ but my name was rejected\.| but greeting failed\./i, 'blocked'],
  [/no mailbox here by that name/i, 'userunknown'],
  [/disk quota exceeded/i, 'mailboxfull'],
  [/message size exceeds fixed maximum message size:|message size exceeds my databytes limit/i, 'mesgtoobig'],
  [/sorry, i couldn'?t find any host /i, 'hostunknown'],
  [/mailbox unavailable \(not enough free space\)/i, 'systemfull'],
  [/bad interpreter: no such file or directory|system error|unable to (?!deliver)/i, 'systemerror'],
  [/sorry, i couldn'?t find a mail exchanger or ip address/i, 'notaccept'],
  [
    /sorry, i wasn'?t able to establish an smtp connection|although i'?m listed as a best-preference mx or a for that host/i,
    'networkerror',
  ],
  [/mailaddress is administrative?le?y disabled/i, 'suspend'],
  [/the message exeeded the maximum size the user accepts/i, 'exceedlimit'],
  [
    /automatic homedir creator crashed|illegal value in ldap attribute|ldap attribute is not given but mandatory|timeout while performing search on ldap server|too many results returned but needs to be unique|error while executing qmail-forward|temporary error in automatic homedir creation|temporary failure in ldap lookup|unable to (?:contact|login into) ldap server/i,
    'systemerror',
  ],
  [/this message has been in the queue too long/i, 'expired'],
  // The remote server refused the recipient; what it said (above) may tell why.
  [/does not like recipient\./i, 'userunknown'],
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
  microsoft: { name: 'microsoft', hints: [], statusHints: MICROSOFT_STATUS },
  gmail: {
    name: 'gmail',
    // Gmail's "(state N)": the stage of its SMTP client that failed.
    hints: [
      [/\(state (?:6|8|9)\)/i, 'systemerror'],
      [/\(state 12\)/i, 'norelaying'],
      [/\(state 13\)/i, 'blocked'],
      [/\(state 14\)/i, 'userunknown'],
      [/\(state (?:15|17|18)\)/i, 'filtered'],
    ],
  },
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
  if (/@(?:googlemail|gmail)\.com>?\s*$/i.test(from) && /mailer-daemon/i.test(from)) return FORMATS.gmail!;
  if (/hi\. this is the qmail|this is the qmail-send program|qmail-send program at/i.test(head)) return FORMATS.qmail!;
  const eximText =
    /this message was created automatically by mail delivery software|message that you sent (?:could not be delivered|has not yet been delivered|contained one or more recipient addresses)/i.test(
      head
    ) || !!get('x-failed-recipients');
  if (
    eximText ||
    /^(?:mail delivery failed|warning: message|mail failure|message frozen)/i.test(get('subject') ?? '')
  ) {
    if (/^\s*"?mail delivery system"?\s*</i.test(from) || /\(exim [\d.]{1,20}\)/i.test(received)) return FORMATS.exim!;
    if (eximText && !/gmx\.|web\.de|1und1|1and1/i.test(from)) return FORMATS.eximlike!;
  }
  const microsoftHeaders = [
    'x-ms-exchange-message-is-ndr',
    'x-microsoft-antispam-prvs',
    'x-exchange-antispam-report-test',
    'x-exchange-antispam-report-cfa-test',
    'x-ms-exchange-crosstenant-originalarrivaltime',
    'x-ms-exchange-crosstenant-fromentityheader',
    'x-ms-exchange-transport-crosstenantheadersstamped',
  ].filter((h) => get(h)).length;
  const outlookHost = /\.(?:outbound\.protection|protection|prod)\.outlook\.com\b/i;
  const microsoftScore =
    microsoftHeaders +
    (/^(?:undeliverable|onbestelbaar|n[ãa]o[_ ]entregue):/i.test(get('subject') ?? '') ? 1 : 0) +
    (outlookHost.test(received) || outlookHost.test(get('message-id') ?? '') ? 1 : 0);
  if (microsoftScore >= 2) return FORMATS.microsoft!;
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

/** The reason a format's (or a distinctive) phrase or status code states, or null. */
export function hintOf(format: BounceFormat | null, text: string, status?: string | null): string | null {
  if (status) {
    // Only in Microsoft 365's own notices: elsewhere these codes may be a relaying server's.
    const table = format?.statusHints;
    if (table) for (const [re, reason] of table) if (re.test(status)) return reason;
  }
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
  if (!m) {
    // Exchange relaying the next server's answer to RCPT; Oracle Messaging Server's refused recipient.
    if (/unknown recipient or mailbox unavailable ->|remote smtp server has rejected address/i.test(text))
      return 'RCPT';
    // qmail-remote: "Connected to 192.0.2.1 but my name was rejected."
    if (/ but greeting failed\./i.test(text)) return 'CONN';
    if (/ but my name was rejected\./i.test(text)) return 'EHLO';
    if (/ but sender was rejected\./i.test(text)) return 'MAIL';
    if (/ does not like recipient\./i.test(text)) return 'RCPT';
    if (/ failed on DATA command| failed after I sent the message/i.test(text)) return 'DATA';
    return null;
  }
  const c = (m[1] ?? '').toUpperCase();
  return ['HELO', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'CONN', 'AUTH', 'STAR', 'QUIT'].includes(c)
    ? c === 'STAR'
      ? 'STARTTLS'
      : c
    : null;
}
