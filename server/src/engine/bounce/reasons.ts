/**
 * Reason names (Sisimai's vocabulary) from enhanced status codes and from the text of a bounce.
 */

/** Enhanced status code -> reason, for the codes that say something specific. */
export const REASON_OF_STATUS: Record<string, string> = {
  '2.1.5': 'delivered',
  '2.6.0': 'delivered',
  '4.1.6': 'hasmoved',
  '4.1.7': 'rejected',
  '4.1.8': 'rejected',
  '4.1.9': 'systemerror',
  '4.2.1': 'suspend',
  '4.2.2': 'mailboxfull',
  '4.2.3': 'exceedlimit',
  '4.2.4': 'filtered',
  '4.3.1': 'systemfull',
  '4.3.2': 'notaccept',
  '4.3.3': 'systemerror',
  '4.3.5': 'systemerror',
  '4.4.1': 'expired',
  '4.4.2': 'networkerror',
  '4.4.4': 'networkerror',
  '4.4.5': 'toomanyconn',
  '4.4.6': 'networkerror',
  '4.4.7': 'expired',
  '4.5.3': 'systemerror',
  '4.5.5': 'systemerror',
  '4.6.0': 'contenterror',
  '4.6.2': 'contenterror',
  '4.6.5': 'contenterror',
  '4.7.1': 'blocked',
  '4.7.2': 'blocked',
  '4.7.5': 'securityerror',
  '4.7.6': 'securityerror',
  '4.7.7': 'securityerror',
  '4.7.12': 'securityerror',
  '4.7.24': 'securityerror',
  '5.1.0': 'userunknown',
  '5.1.1': 'userunknown',
  '5.1.2': 'hostunknown',
  '5.1.3': 'userunknown',
  '5.1.4': 'filtered',
  '5.1.6': 'hasmoved',
  '5.1.7': 'rejected',
  '5.1.8': 'rejected',
  '5.1.9': 'systemerror',
  '5.1.10': 'notaccept',
  '5.1.351': 'userunknown',
  '5.2.0': 'filtered',
  '5.2.1': 'userunknown',
  '5.2.2': 'mailboxfull',
  '5.2.3': 'exceedlimit',
  '5.2.4': 'filtered',
  '5.3.0': 'systemerror',
  '5.3.1': 'systemfull',
  '5.3.2': 'notaccept',
  '5.3.3': 'systemerror',
  '5.3.4': 'mesgtoobig',
  '5.3.5': 'systemerror',
  '5.4.0': 'networkerror',
  '5.4.3': 'systemerror',
  '5.5.3': 'toomanyconn',
  '5.5.4': 'systemerror',
  '5.5.5': 'systemerror',
  '5.5.6': 'securityerror',
  '5.6.0': 'contenterror',
  '5.6.1': 'contenterror',
  '5.6.2': 'contenterror',
  '5.6.3': 'contenterror',
  '5.6.5': 'contenterror',
  '5.6.6': 'contenterror',
  '5.6.7': 'contenterror',
  '5.6.8': 'contenterror',
  '5.6.9': 'contenterror',
  '5.7.0': 'securityerror',
  '5.7.1': 'blocked',
  '5.7.2': 'blocked',
  '5.7.3': 'securityerror',
  '5.7.4': 'securityerror',
  '5.7.5': 'securityerror',
  '5.7.6': 'securityerror',
  '5.7.7': 'securityerror',
  '5.7.8': 'securityerror',
  '5.7.9': 'securityerror',
  '5.7.10': 'securityerror',
  '5.7.11': 'securityerror',
  '5.7.13': 'suspend',
  '5.7.14': 'securityerror',
  '5.7.17': 'hasmoved',
  '5.7.18': 'hasmoved',
  '5.7.20': 'securityerror',
  '5.7.21': 'securityerror',
  '5.7.22': 'securityerror',
  '5.7.23': 'securityerror',
  '5.7.24': 'securityerror',
  '5.7.25': 'requireptr',
  '5.7.26': 'authfailure',
  '5.7.27': 'notaccept',
};

/** A status code for a reason when the message gives none (X.0.9YY: "no code given, this reason"). */
const PSEUDO_STATUS: Record<string, string> = {
  blocked: '971',
  contenterror: '960',
  exceedlimit: '923',
  expired: '947',
  filtered: '910',
  hasmoved: '916',
  hostunknown: '912',
  mailboxfull: '922',
  mailererror: '939',
  mesgtoobig: '934',
  networkerror: '944',
  norelaying: '909',
  notaccept: '932',
  onhold: '901',
  rejected: '918',
  securityerror: '970',
  spamdetected: '980',
  suspend: '921',
  systemerror: '930',
  systemfull: '931',
  syntaxerror: '902',
  toomanyconn: '945',
  userunknown: '911',
  undefined: '900',
  requireptr: '973',
  authfailure: '911',
  virusdetected: '962',
  policyviolation: '920',
  badreputation: '913',
  speeding: '946',
};

export function pseudoStatus(reason: string, temporary: boolean): string {
  const code = PSEUDO_STATUS[reason] ?? '900';
  return `${temporary ? '4' : '5'}.0.${code}`;
}

export const HARD_REASONS = new Set(['userunknown', 'hostunknown', 'hasmoved', 'notaccept']);

/** Text patterns, most specific first. Each regex is simple (no nested quantifiers). */
const TEXT_REASONS: Array<[string, RegExp]> = [
  [
    'mesgtoobig',
    /message (?:size |length )?(?:exceeds|too (?:big|large))|message is too (?:big|large)|size limit|exceeds? (?:the )?(?:maximum|max) (?:message )?size|mail size limit|too large|line limit exceeded/i,
  ],
  ['virusdetected', /virus|malware|infected/i],
  [
    'spamdetected',
    /\bspam\b|spamhaus zen|content (?:was )?rejected as spam|junk mail|message (?:looks|seems) like spam|bulk mail|spam content|UBE\b/i,
  ],
  [
    'requireptr',
    /reverse (?:dns|lookup)|\bptr\b|no rdns|hostname does not resolve|cannot find your hostname|ip name lookup failed|not resolve to your (?:ip|address)|client host rejected: cannot find/i,
  ],
  ['authfailure', /\bspf\b|\bdkim\b|\bdmarc\b|sender policy framework|authentication (?:checks? )?fail/i],
  [
    'norelaying',
    /relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|not permitted to relay|unable to relay|relaying (?:is )?not allowed|we do not relay|no relaying/i,
  ],
  ['toomanyconn', /too many (?:connections|concurrent|simultaneous)|connection rate limit|throttl/i],
  ['speeding', /rate limit|receiving mail at a rate|sending rate|too (?:fast|many messages)|exceeded (?:the )?(?:rate|limit)/i],
  ['hasmoved', /has moved|address (?:has )?changed|no longer (?:valid|in use) .*new address|mailbox has moved/i],
  [
    'suspend',
    /(?:mailbox|account|user|address)(?: is)? (?:currently )?(?:suspended|disabled|inactive|deactivated|locked|frozen|expired)|inactive (?:user|account|mailbox)|disabled (?:mailbox|account)|account (?:has been )?(?:disabled|suspended|closed|is not active)|mailbox (?:unavailable|not active)|not active/i,
  ],
  [
    'mailboxfull',
    /mailbox (?:is )?full|over ?quota|quota (?:exceeded|exceed|full)|exceeded (?:storage|quota)|(?:mailbox|disk|storage|inbox) (?:size )?(?:is )?(?:full|exceeded|limit)|insufficient (?:disk )?space|user is over|not enough (?:disk )?space|mailfolder is full|is full|full mailbox/i,
  ],
  [
    'hostunknown',
    /(?:^|\s)[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,8} does not exist|host (?:or domain name )?not found|unknown (?:host|domain)|domain (?:does not exist|not found|name not found)|no such (?:host|domain)|name or service not known|unrouteable (?:mail )?domain|host unknown|illegal host\/domain|no mx|nxdomain|unable to resolve|hostname not known|mx (?:record|host)s? (?:for .* )?(?:not found|lookup)/i,
  ],
  [
    'userunknown',
    /user unknown|unknown user|no such (?:user|mailbox|recipient|address|account)|(?:user|mailbox|recipient|address|account)(?: name)? (?:does not|doesn'?t|did not) exist|(?:recipient|user|mailbox|address)(?: address)? (?:is )?(?:unknown|invalid|not found|unavailable)|invalid (?:recipient|mailbox|user|address)|unknown (?:recipient|local|mailbox|address)|not (?:a )?(?:valid|known) (?:user|recipient|mailbox)|unrouteable address|recipient name is not recognized|recipient address rejected(?:: access denied|\.|\s*$)|mailbox not found|not our customer|no mailbox|user not found|no account|is not a valid mailbox|unknown or illegal alias|bad destination|addressee unknown|not listed in|does not have an account|recipient not found|user doesn.t have a .* account|mailbox is unavailable|mailbox unavailable|no valid recipients|couldn't find any host|address not present|cannot be delivered because the address/i,
  ],
  [
    'filtered',
    /refused by (?:the )?(?:recipient|user)|delivery not authorized|blocked by (?:the )?(?:recipient|user)|rejected by recipient|permission denied|message filtered|filter/i,
  ],
  [
    'expired',
    /did not accept our requests to connect|(?:delivery )?time (?:expired|limit exceeded|out)|timed? ?out|retry time|too long in (?:the )?queue|could not be delivered within|has been delayed|expired|giving up|delivery attempts? (?:will continue|failed for)|deferred|gave up|not delivered within|was aborted after|will be retried for|have been failing for a long time|unable to deliver .* for \d+ days/i,
  ],
  [
    'networkerror',
    /connection refused|network (?:is )?unreachable|no route to host|connection (?:reset|lost|closed|dropped)|routing loop|mail loop|too many hops|loop(?:ing)? detected|lost connection/i,
  ],
  [
    'blocked',
    /blocked|blacklist|block ?list|denylist|\brbl\b|dnsbl|spamcop|sorbs|barracuda|listed (?:at|in|on)|poor reputation|access denied|banned|refused to talk|not allowed to send|connection rejected|client host rejected|ip (?:address )?rejected/i,
  ],
  ['policyviolation', /policy|prohibited|not allowed|dmarc/i],
  [
    'contenterror',
    /\bcontent\b(?![-:])|attachments? (?:not allowed|rejected|blocked|type|extension)|(?:prohibited|forbidden|unsafe) attachment|\bmime\b(?![-:]| format)|header (?:syntax|error)|malformed(?! (?:recipient )?address)|media error/i,
  ],
  ['securityerror', /authentication required|tls required|encryption required|starttls|security/i],
  ['systemfull', /system (?:is )?full|disk full|out of (?:disk|storage)/i],
  ['notaccept', /does not accept mail|not accept(?:ing)? mail|null mx|no mail service/i],
  ['syntaxerror', /syntax error|malformed (?:recipient )?address|command unrecognized|bad command sequence/i],
  ['mailererror', /mailer error|command failed|program exited|exit status|procmail|\bpipe\b/i],
  [
    'systemerror',
    /system error|internal (?:server )?error|server error|local error|temporary failure|configuration error|misconfigured|try again later/i,
  ],
  ['rejected', /sender (?:address )?rejected|rejected|refused|domain of sender|sender verify failed|denied/i],
];

/** Reason found in a bounce text, or null. */
export function reasonOfText(text: string): string | null {
  const sample = text.length > 4000 ? text.slice(0, 4000) : text;
  for (const [reason, re] of TEXT_REASONS) if (re.test(sample)) return reason;
  return null;
}

/** Reasons a status code's own meaning should win over, when both are present. */
const SPECIFIC_STATUS_WINS = new Set([
  'userunknown',
  'hostunknown',
  'mailboxfull',
  'hasmoved',
  'notaccept',
  'mesgtoobig',
  'exceedlimit',
  'suspend',
  'expired',
  'toomanyconn',
  'requireptr',
  'authfailure',
]);

/** Picks the reason from a status code and a text. */
export function decideReason(status: string | null, text: string, action: string | null, atData = false): string {
  const reason = decideReasonOnly(status, text, action);
  // An unknown-user answer to DATA (after the recipient was accepted) is a content filter's verdict.
  if (atData && reason === 'userunknown' && !/^5\.1\.[1-9]/.test(status ?? '')) return 'filtered';
  return reason;
}

function decideReasonOnly(status: string | null, text: string, action: string | null): string {
  if (action && /deliver|relay|expand/i.test(action) && status?.startsWith('2')) return 'delivered';
  if (status?.startsWith('2')) return 'delivered';
  const byStatus = status ? REASON_OF_STATUS[status] : undefined;
  const byText = text ? reasonOfText(text) : null;
  // X.2.1 (mailbox disabled): Sisimai reads it as an unknown user unless the text says more.
  if (status?.endsWith('.2.1') && (byText === 'suspend' || byText === 'speeding' || byText === 'filtered'))
    return byText;
  if (byStatus && SPECIFIC_STATUS_WINS.has(byStatus) && !(status ?? '').endsWith('.0')) {
    return byStatus;
  }
  // Bad sender address (X.1.7, X.1.8): the message is refused whatever the text says about users.
  if (byStatus === 'rejected' && /^[45]\.1\.[78]$/.test(status ?? '')) return byStatus;
  if (byStatus === 'filtered' && byText !== 'spamdetected' && byText !== 'suspend' && byText !== 'mailboxfull')
    return byStatus;
  if (byText) return byText;
  if (byStatus) return byStatus;
  if (status && /^4\.4\./.test(status)) return 'networkerror';
  if (action && /delayed/i.test(action)) return 'expired';
  return status ? 'undefined' : 'onhold';
}
