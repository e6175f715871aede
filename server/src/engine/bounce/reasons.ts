/**
 * Reason names (Sisimai's vocabulary), hard/soft and pseudo status codes, decided from what a bounce
 * says about one recipient: the enhanced status code (RFC 3463), the diagnostic text, the SMTP
 * command the remote server answered, the reply code, the DSN action, and a reason the bounce's
 * format states outright (a "hint").
 *
 * The decision follows the order real bounce processors use: first the reasons that a status code
 * or a telling phrase settles (mailbox full, message too big, suspended, relaying, authentication,
 * unknown user at RCPT, content filter after DATA, PTR, reputation, sender rejected, unknown host,
 * spam, rate limits, blocked client), then the reasons only a phrase reveals, then the status
 * code's class. Patterns are plain alternations of phrases seen in real MTAs' and providers'
 * answers (no nested quantifiers), matched against a capped, lower-cased text.
 */

/** Enhanced status code -> reason, for the codes that say something specific (RFC 3463 and registry). */
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
  '4.4.3': 'systemerror',
  '4.4.4': 'networkerror',
  '4.4.5': 'systemfull',
  '4.4.6': 'networkerror',
  '4.4.7': 'expired',
  '4.4.8': 'networkerror',
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
  '4.7.15': 'securityerror',
  '4.7.16': 'mesgtoobig',
  '4.7.24': 'authfailure',
  '4.7.25': 'requireptr',
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
  '5.2.0': 'filtered',
  '5.2.1': 'filtered',
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
  '5.4.4': 'hostunknown',
  '5.5.2': 'syntaxerror',
  '5.5.3': 'toomanyconn',
  '5.5.4': 'systemerror',
  '5.5.5': 'systemerror',
  '5.5.6': 'syntaxerror',
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
  '5.7.1': 'securityerror',
  '5.7.2': 'securityerror',
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
  '5.7.15': 'securityerror',
  '5.7.16': 'mesgtoobig',
  '5.7.17': 'hasmoved',
  '5.7.18': 'hasmoved',
  '5.7.19': 'securityerror',
  '5.7.20': 'authfailure',
  '5.7.21': 'authfailure',
  '5.7.22': 'authfailure',
  '5.7.23': 'authfailure',
  '5.7.24': 'authfailure',
  '5.7.25': 'requireptr',
  '5.7.26': 'authfailure',
  '5.7.27': 'notaccept',
  '5.7.28': 'spamdetected',
  '5.7.29': 'authfailure',
  '5.7.30': 'securityerror',
};

/** A status code for a reason when the message gives none (X.0.9YY: "no code given, this reason"). */
const PSEUDO_PERMANENT: Record<string, string> = {
  authfailure: '972',
  badreputation: '975',
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
  notcompliantrfc: '974',
  onhold: '901',
  policyviolation: '972',
  rejected: '918',
  requireptr: '973',
  securityerror: '970',
  spamdetected: '980',
  speeding: '946',
  suspend: '921',
  systemerror: '930',
  systemfull: '931',
  syntaxerror: '902',
  toomanyconn: '945',
  userunknown: '911',
  undefined: '900',
  virusdetected: '971',
};
/** Reasons that have a temporary (4.0.9YY) pseudo code; the others keep 5.0.9YY. */
const PSEUDO_TEMPORARY: Record<string, string> = {
  authfailure: '972',
  badreputation: '975',
  blocked: '971',
  contenterror: '960',
  expired: '947',
  filtered: '924',
  mailboxfull: '922',
  networkerror: '944',
  notaccept: '932',
  notcompliantrfc: '974',
  onhold: '901',
  rejected: '918',
  requireptr: '973',
  securityerror: '970',
  spamdetected: '980',
  speeding: '946',
  systemerror: '930',
  systemfull: '931',
  toomanyconn: '945',
  undefined: '900',
};

export function pseudoStatus(reason: string, temporary: boolean): string {
  if (temporary && PSEUDO_TEMPORARY[reason]) return `4.0.${PSEUDO_TEMPORARY[reason]}`;
  return `5.0.${PSEUDO_PERMANENT[reason] ?? '900'}`;
}

export const HARD_REASONS = new Set(['userunknown', 'hostunknown', 'hasmoved', 'notaccept']);

/** Reasons a bounce format may state that are still checked against the text and the code. */
const RETRY = new Set([
  'undefined',
  'onhold',
  'systemerror',
  'securityerror',
  'expired',
  'suspend',
  'networkerror',
  'hostunknown',
  'userunknown',
]);

/* ----------------------------------------------------------------------------------------------
 * Phrase patterns, one list per reason. Matched against lower-cased text with collapsed spaces.
 * -------------------------------------------------------------------------------------------- */

const P: Record<string, RegExp[]> = {
  mailboxfull: [
    /mailbox (?:is )?full|full mailbox|mailfolder is full|mailbox (?:is )?over ?quota|over ?quota|quota (?:exceeded|violation|usage exceeded)|exceeded (?:its |the |his |her )?(?:mailbox )?quota/,
    /exceeding (?:their|its) (?:mailbox )?quota|(?:disc|disk|diskspace|storage) quota|reached disk quota|mailbox size limit exceeded|mailbox exceeded the local limit|mailbox has exceeded its disk space limit/,
    /452 insufficient disk space|not (?:enough|sufficient) (?:disk |storage )?space|no space left on device|does not have enough space|exceeded storage allocation|space has been used up|too many messages on the server/,
    /would exceed (?:the )?maximum allowed storage|would be over the allowed quota|over the allowed quota|boite du destinataire pleine|too much mail data|mail file size exceeds the maximum size allowed for mail delivery|exceeding receiving limits/,
  ],
  mesgtoobig: [
    /message (?:file |length |size )?(?:is )?too (?:big|large for this)|message size exceeds (?:fixed|maximum)|exceeded maximum inbound message size|max(?:imum)? message size exceeded|message length exceeds administrative limit|size limit|line limit exceeded|taille limite du message atteinte|message (?:size )?exceeds (?:the )?(?:maximum|max|allowed)/,
  ],
  exceedlimit: [/message header size exceeds limit|message too large/],
  suspend: [
    / is currently suspended|temporar(?:y|ily) locked|archived recipient|boite du destinataire archivee|account that you tried to reach is (?:disabled|inactive)|has been suspended|inactive (?:account|user|mailbox)|invalid\/inactive user/,
    /deactivated mailbox|user is terminated|mailbox (?:currently suspended|disabled|is frozen|is disabled|unavailable or access denied)|temporarily inactive|suspend(?:ed)? the service|account has been (?:disabled|discontinued|temporarily suspended)/,
    /this address no longer accepts mail|user or domain is disabled|user suspended|account is locked|account (?:is )?(?:disabled|suspended)/,
  ],
  hasmoved: [/ has been replaced by |mailbox has moved|address has changed(?:;| to)/],
  norelaying: [
    /as a relay|relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|insecure mail relay|not permitted to relay|no relaying|not a gateway|not allowed to relay|not an open relay|not local host/,
    /relaying mail to |specified domain is not allowed|isn'?t in my list of allowed rcpthosts?|not configured to relay|unable to relay|email address is not verified\.|we (?:do not|don'?t) (?:relay|handle mail for)|requires authentication when attempting to send to a non-local/,
  ],
  authfailure: [
    /spf\.pobox\.com|bad spf records|does not have authentication information or fails to pass authentication checks|dmarc polic|inspect your spf settings|sender policy framework (?:\(spf\) )?(?:fail|violation)|spf \(sender policy framework\) domain authentication fail|spf check: fail|per it'?s spf record|spf (?:validation|check) failed|dkim (?:validation|check) failed|failed (?:spf|dkim|dmarc)/,
  ],
  userunknown: [
    /user unknown|unknown user|unknown (?:recipient|mailbox|local ?part|e-?mail address)|recipient unknown|address unknown|addressee unknown|no such (?:user|mailbox|recipient|person|address|account)|non-?existent user/,
    /(?:user|recipient|mailbox|address|account|e-?mail address) (?:does not|doesn'?t|did not|not) exists?|(?:user|recipient|mailbox|address) not (?:found|known|active|ok)|mailbox (?:invalid|is inactive|is unavailable|unavailable|not present|not found|unavaiable)|no mailbox (?:here|found|by that name)/,
    /invalid (?:recipient|mailbox|address|user)|is not (?:a known user|a valid (?:mailbox|user|recipient)|an active address)|not a valid (?:recipient|user)|not a local address|recipient is not (?:accepted|local)|recipient not exist/,
    /recipient address rejected: (?:access denied|invalid|unknown user|user ?unknown|user .{1,80} does not exist|user unknown in)|address (?:not present in directory|rejected\.|invalid)|can'?t accept user|destination addresses were unknown|destination server rejected recipients/,
    /email address (?:does not exist|could not be found|is wrong or no longer valid)|account .{1,80} does not exist at the organization|the email account that you tried to reach does not exist|user'?s email name is not found|there is no one at this address/,
    /badrcptto|badrecipientto|validrcptto|envelope recipient has been denied|no account by that name|no mail ?box available for this user|requested action not taken: mailbox unavailable|resolver\.adr\.recipnotfound|resolver\.adr\.recipient ?notfound/,
    /this user doesn'?t have an? .{1,80} account|user missing home directory|invalid or unknown virtual user|utilisateur inconnu|nessun utente|no existe (?:dicha persona|ese usuario)|recipient refuses to accept your mail|the following recipients was undeliverable|mailbox .{1,80} does not exist/,
    /(?:^|\s)<[^<>\s]{1,300}> not found|>\.\.\. blocked by |rcpt <.{1,300} does not exist|recipient .{1,100} was not found in|user .{1,100} (?:was not found|does not exist)|user \(.{1,100}\) unknown|no .{1,100} in name directory|bad.{0,20}recipient|does not exist\.|not email addresses|this spectator does not exist/,
  ],
  filtered: [
    /only accepting mail from specific email addresses|bounced address|extended inactivity new mail is not currently being accepted|restricted sms e-mail|is not accepting any mail|rejected due to user rules|not found recipient account/,
    /refused due to recipient preferences|resolver\.rst\.notauthorized|this account is protected by|user refuses to receive this mail|user reject|refuse to receive mail|you have been blocked by the recipient/,
  ],
  requireptr: [
    /ip name lookup failed|must have a ptr record|bad dns ptr|cannot find your hostname|fix reverse dns|missing ptr records?|no ptr record|custom reverse dns name|ptr record setup|reverse dns (?:failed|required|validation failed)|reverse lookup rejected/,
    /does not have a ptr record|forward dns entry does not point to the sending ip|servers\/devices with no reverse dns|unresolvable relay host name|generic dns ptr-records|mismatches client ip|dns lookup failure: .{1,200} try again later|reverse dns lookup for host .{1,200} failed|invalid rdns record|unverifyable sending ips/,
  ],
  notcompliantrfc: [/not rfc ?5322 compliant|rfcmessagenoncompliant|multiple addresses in from: header/],
  badreputation: [
    /poor email reputation|rate limited due to ip reputation|ip\/domain reputation problems|very low reputation|none\/bad reputation|unexpected volume or user complaints|sending mta'?s poor reputation/,
  ],
  rejected: [
    /access denied \(in reply to mail from command\)|access denied \(sender blacklisted\)|address rejected|administrative prohibition|batv (?:failed|validation)|backscatter protection|list of senders to accept mail from|bogus mail from|purported responsible address/,
    /without a valid sender domain|denied \[bouncedeny\]|valid-address-filter|delivery not authorized, message refused|does not exist e2110|domain of sender address |senderfilterconfig|emetteur invalide|empty envelope senders? not allowed|envelope blocked - /,
    /no third-party dsns|from: domain is invalid|fully qualified email address required|invalid domain, see <url:|invalid sender|not a registered gateway user|mail from not owned by user|email address is not verified|mx records for |null sender is not allowed/,
    /recipient addresses rejected : access denied|batv: no tag|returned mail not accepted here|recursive cname records|rule imposed mailbox access|from a different address or alias|sender (?:address has been blacklisted|email address rejected|is in my black list|is spammer|not pre-approved|rejected|domain is empty|verify failed|was rejected)/,
    /spam reporting address|empty email address|rejected by batv|does not accept mail from|unsigned dsn for|unroutable sender address|not allowed to post to this mailing list|sending to\/from an address that has been blacklisted|submit messages to this e-mail system has been rejected|your email address has been blacklisted/,
  ],
  hostunknown: [
    /domain (?:does not|must) exist|domain is not reachable|host or domain name not found|host unknown|host unreachable|mail domain mentioned in email address is unknown|name or service not known|no such domain|unknown domain|recipient domain must exist|domain may not exist|unknown host|unroutable address|unrouteable address|553 .{1,200} does not exist/,
  ],
  spamdetected: [
    / - spam|help_spam_16|554 5\.7\.0 reject, id=|appears to be unsolicited|blacklisted url in message|block(?:ed)? for spam|no spam please|blocked by spamassassin|blocked for abuse|detected as spam|unsolicited bulk e-?mail|content filter rejection|identified this email as a bulk email/,
    /denied due to spam list|high probability of spam|classified as spam|listed in work\.drbl|mail content denied|may consider spam|considered as spam|contains spam|message content rejected|message filtered|message looks like spam|seems to be a spam|mailmarshal spamprofiler|seg spamprofiler|rejected as spam/,
    /unacceptable content|suspected spam|message rejected for policy reasons|possible spam|thinks this email is spam|our system has detected that this message is |probable spam|bulk\.advertising|spamassassin score|rejected - bulk email|banned content|rejecting mail content|spam-like|spam filter|spam blocked|spam check/,
    /spam content matched|spam detected|spam email|spam message rejected|spam not accepted|spam refused|spam rejection|spam score |spambouncer|spamming not allowed|too many spam complaints|too much spam|rejected by spam filtering engine|classification as bulk mail|looked like spam|appears to be spam|identified as spam|scored as spam/,
    /recurrent pattern detection|spam message not queued|dont accept spam|similar to spam|uribl policy|considered spam|probably spam|message as spam|temporarily blocked by our filter|triggered a spam block|spam contents|antispam checks/,
  ],
  speeding: [/temporarily rate limited|try again slower|receiving mail at a rate that prevents/],
  toomanyconn: [
    /frequency limited|maximum connection limit|connection rate limit exceeded|per-domain connection limit|max emails per hour|daily message quota exceeded|maximum sending rate exceeded|too many (?:connections|concurrent smtp connections|errors from your ip|recipients|smtp sessions)|trop de connexions|numerous attempts to deliver this message/,
  ],
  blocked: [
    / said: 550 blocked|spamcop\.net\/bl\.|bad sender ip address|banned sending ip|blacklisted by|blocked using |blocked - see http|dnsbl:attrbl|abus detecte|may not be mail exchanger|was not authenticated|confirm this mail server|connection (?:dropped|refused by|reset by peer|was dropped by remote host)/,
    /spamhaus xbl|currently sending spam see|domain does not exist:|zombied\/spam ips|no valid recipients from |esmtp not accepting connections|bad ip profile|go away|helo command rejected|host network not allowed|hosts with dynamic ip|invalid ip for sending mail of domain|is in a black list|not allowed to send mail from/,
    /no access from mail server|no matches to nameserver query|not currently accepting mail from your ip|network is on our block list|use the smtp server of your isp|refused - see http|multi-blacklist|has not passed validation|rejecting open proxy|sender ip address rejected|forbidden by your ip|service not available, closing transmission channel/,
    /after initial connection:|looks suspiciously like spammer|too many spams from your ip|too many unwanted messages have been sent|was blocked by |from dynamic ips|not allowed to connect|you are sending spam|listed in the rbl|temporary blacklisted|requires confirmation/,
    /\(.{0,100}@.{0,100}:blocked\)|access from ip address .{1,100} blocked|client host .{1,200} blocked using|because the ip is in spamhaus|is_blocked|email blocked by .{1,100}(?:barracudacentral|spamhaus)|refused to talk to me: .{1,200} blocked|is blocked by earthlink|rbl on |mail server at .{1,100} is blocked/,
    /mail from .{1,200} refused:|rejected based on blacklist|temporarily deferred due to user complaints|listed as abusive|is blocked by rbl|domain .{1,100} is blacklisted|email .{1,100} is blacklisted|ip .{1,100} is blacklisted|service refused, please try later|\.abuseat\.org|ip address blacklisted/,
  ],
  virusdetected: [
    /potentially executable attachment|prohibited virus|used by recent viruses|virus detected|malicious_url detected|infected with a virus/,
  ],
  policyviolation: [
    /illegal attachment|not accepting mail with |non-member to a members-only list|closed mailing list|denied by policy|not accepted for policy reasons|rejected due to security policies|header are not accepted|header error|local policy violation|due to organizational settings/,
    /message given low priority|rejected due to local policy|messages with multiple addresses|rejected for policy reasons|protocol violation|not subscribed to this group|rejected by organization policy|content presents a potential|containing images or other attachments|using a mass mailer|allowable number of posts without solving a captcha/,
  ],
  systemerror: [
    /forwarding loop broken|can'?t create user output file|could not load drd|internal error reading data|internal server error: operation now in progress|interrupted system call|encountered an error while being processed|would create a mail loop|local configuration error|local error in processing/,
    /internal system error|loop was found in the mail exchanger|loops back to myself|mail system configuration error|queue file write error|there is no mdb|remote server is misconfigured|server configuration error|service currently unavailable|system config error|temporary local problem|timeout waiting for input|transaction failed(?: |$)/,
  ],
  networkerror: [
    /could not connect and send the mail to|dns records for the destination computer could not be found|hop count exceeded|host is unreachable|host name lookup failure|host not found, try again|mail forwarding loop for |malformed (?:or unexpected )?name server reply|forwarding loop count exceeded|message looping|routing loop|no route to host|too many hops|unable to resolve route |unrouteable mail domain|network error on destination|lost connection with |could indicate a mail loop/,
  ],
  contenterror: [
    /duplicate header|header size exceeds maximum permitted|8-bit data in message header|recipient list, exceeds policy limit|mime complexity exceeds|too many received: headers|invalid mime headers|improperly-formatted binary content|unnecessary base64 encoding/,
  ],
  systemfull: [/mail system full|exceeded storage allocation|insufficient (?:disk|system) space/],
  notaccept: [
    /does not accept mail \(nullmx\)|(?:host|domain)(?:\/domain)? does not accept mail|mail receiving disabled|name server: \.: host not found|no mx record found for domain=|no route for current request|smtp protocol returned a permanent error|null mx/,
  ],
  expired: [
    /connection timed out|could not find a gateway for|delivery attempts will continue to be|delivery (?:time )?expired|failed to deliver to domain |giving up on|have been failing for a long time|has been delayed|has not been collected after|message expired|message timed out|retry time not reached/,
    /server did not respond|in the queue too long|unable to deliver message after multiple retries|not reachable within the allowed queue period|could not be delivered for more than|could not be delivered for .{1,40} days|retry timeout exceeded|envelope expired|delivery failed \d{1,4} attempts/,
  ],
  securityerror: [
    /account not subscribed to ses|authentication credentials invalid|authentication failure|authentication required|authentication turned on in your email client|executable files are not allowed in compressed files|recipient address rejected: access denied|you don'?t authenticate|starttls is required/,
    /tls required but not supported|unauthenticated senders not allowed|verification failure|not authorized to send mail, authentication is required|authentication failed; server .{1,200} said: |authentification (?:invalide|requise)|is a dead domain|not authorized to perform ses:sendrawemail/,
  ],
  mailererror: [
    / \|\| exit |procmail: |bin\/procmail|bin\/maidrop|command failed: |command died with status |command output:|mailer error|pipe to \|\/|x-unix; /,
  ],
  vacation: [/i am away on vacation|i am away until|i am out of the office|i will be traveling for work on/],
};

/** Phrases that look like a rejected sender but are about the recipient or the client. */
const REJECTED_IS_NOT = /5\.1\.0 address rejected|recipient address rejected|sender ip address rejected/;

const MAX_TEXT = 4000;

export function normalizeText(text: string): string {
  const t = text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text;
  return t.toLowerCase().replace(/\s+/g, ' ');
}

/** Whether a normalised (lower-case) text has one of the reason's phrases. */
export function matchReason(reason: string, text: string): boolean {
  if (!text) return false;
  if (reason === 'rejected' && REJECTED_IS_NOT.test(text)) return false;
  const list = P[reason];
  return !!list && list.some((re) => re.test(text));
}

/** Reason found in a bounce text by phrases alone, in a fixed order, or null. */
export function reasonOfText(text: string): string | null {
  const t = normalizeText(text);
  for (const r of MATCH_ORDER) if (matchReason(r, t)) return r;
  return null;
}

export interface ReasonInput {
  /** Enhanced status code after reconciliation, or null. */
  status: string | null;
  /** The diagnostic text for this recipient. */
  diagnostic: string;
  /** The diagnostic type (smtp, x-unix, x-postfix...), or null. */
  diagnosticType?: string | null;
  action?: string | null;
  /** The SMTP command the failure answered (CONN, HELO, EHLO, MAIL, RCPT, DATA...), or null. */
  command?: string | null;
  replyCode?: string | null;
  /** A reason the bounce format states outright. */
  hint?: string | null;
}

/** Reasons checked first, each with its own test of code, phrase and SMTP command. */
const FIRST_ORDER = [
  'mailboxfull',
  'mesgtoobig',
  'exceedlimit',
  'suspend',
  'hasmoved',
  'norelaying',
  'authfailure',
  'userunknown',
  'filtered',
  'requireptr',
  'notcompliantrfc',
  'badreputation',
  'rejected',
  'hostunknown',
  'spamdetected',
  'speeding',
  'toomanyconn',
  'blocked',
];
/** Reasons looked for by phrase when the first pass found none. */
const SECOND_ORDER = [
  'mailboxfull',
  'authfailure',
  'badreputation',
  'speeding',
  'spamdetected',
  'virusdetected',
  'policyviolation',
  'norelaying',
  'systemerror',
  'networkerror',
  'suspend',
  'contenterror',
  'systemfull',
  'notaccept',
  'expired',
  'securityerror',
  'mailererror',
];
/** Order for a bare phrase match (no code, no command). */
const MATCH_ORDER = [
  'mailboxfull',
  'mesgtoobig',
  'exceedlimit',
  'suspend',
  'userunknown',
  'filtered',
  'rejected',
  'hostunknown',
  'spamdetected',
  'speeding',
  'toomanyconn',
  'blocked',
  'authfailure',
  'securityerror',
  'systemerror',
  'networkerror',
  'expired',
  'contenterror',
  'hasmoved',
  'systemfull',
  'notaccept',
  'mailererror',
  'norelaying',
];
/** A rejection that names the sender (not a bare "address rejected", which may be the recipient's). */
const SENDER_REJECTED =
  /sender|mail from|envelope|batv|dsn|blacklist|black list|spammer|domain of|from:|null|empty|gateway|verif|post|bounce|alias/;
/** What must not also be said for a user-unknown code to mean an unknown user. */
const USERUNKNOWN_UNLESS = ['norelaying', 'blocked', 'mailboxfull', 'hasmoved', 'rejected', 'notaccept'];

interface Ctx {
  status: string;
  name: string;
  text: string;
  command: string;
  reply: number;
  hint: string;
}

function firstOrderTrue(reason: string, c: Ctx): boolean {
  if (c.hint === reason) return true;
  const m = () => matchReason(reason, c.text);
  switch (reason) {
    case 'mailboxfull':
    case 'exceedlimit':
    case 'authfailure':
      if (!c.status) return false;
      return c.name === reason || m();
    case 'mesgtoobig':
      if (c.name === 'mesgtoobig') return true;
      if (c.name === 'exceedlimit' || c.status === '5.2.3') return false;
      return m();
    case 'suspend':
      if (!c.status) return false;
      return c.reply === 525 || m();
    case 'hasmoved':
    case 'notcompliantrfc':
    case 'badreputation':
      return m();
    case 'norelaying':
      if (['securityerror', 'systemerror', 'undefined'].includes(c.hint)) return false;
      if (['CONN', 'EHLO', 'HELO'].includes(c.command)) return false;
      return m();
    case 'userunknown': {
      if (c.name === 'suspend') return false;
      if (c.name === 'userunknown')
        return !USERUNKNOWN_UNLESS.some((r) =>
          r === 'rejected' ? SENDER_REJECTED.test(c.text) && matchReason(r, c.text) : matchReason(r, c.text)
        );
      if (c.command === 'RCPT') return m();
      return false;
    }
    case 'filtered': {
      if (c.name === 'suspend') return false;
      if (c.name === 'filtered') return matchReason('userunknown', c.text) || m();
      if (['CONN', 'EHLO', 'HELO', 'MAIL', 'RCPT'].includes(c.command)) return false;
      return m() || matchReason('userunknown', c.text);
    }
    case 'requireptr':
    case 'toomanyconn':
    case 'blocked':
      return c.name === reason || m();
    case 'rejected': {
      const name = c.name || 'undefined';
      if (name === 'rejected') return true;
      if (c.command === 'MAIL') return m();
      if (c.command === 'DATA') return name !== 'userunknown' && m();
      if (['onhold', 'undefined', 'securityerror', 'systemerror'].includes(name)) return m();
      return false;
    }
    case 'hostunknown':
      if (c.name === 'hostunknown') return !matchReason('networkerror', c.text);
      return m();
    case 'spamdetected':
      if (!c.status) return false;
      if (c.name === 'spamdetected') return true;
      if (['CONN', 'EHLO', 'HELO', 'MAIL', 'RCPT'].includes(c.command)) return false;
      return m();
    case 'speeding':
      if (!c.status) return false;
      return m();
    default:
      return false;
  }
}

/** Picks the reason for one recipient. */
export function decideReason(input: ReasonInput): string {
  const status = input.status ?? '';
  const hint = input.hint ?? '';
  if (hint && !RETRY.has(hint)) return hint;
  if (status.startsWith('2.')) return 'delivered';
  const c: Ctx = {
    status,
    name: REASON_OF_STATUS[status] ?? '',
    text: normalizeText(input.diagnostic ?? ''),
    command: (input.command ?? '').toUpperCase(),
    reply: Number(input.replyCode ?? 0) || 0,
    hint,
  };
  const type = smtpLikeType(input.diagnosticType);
  const smtpType = type === 'smtp';
  if (smtpType) {
    for (const r of FIRST_ORDER) if (firstOrderTrue(r, c)) return r;
  }
  const other = secondOrder(c, type, input.action ?? '');
  if (other) return other;
  if (/^(?:delayed|expired)/i.test(input.action ?? '')) return 'expired';
  if (matchReason('vacation', c.text)) return 'vacation';
  return c.text.trim() ? 'onhold' : 'undefined';
}

/** The diagnostic type as the decision sees it: mailer (pipe, program) errors apart, every other type is an SMTP answer. */
function smtpLikeType(type: string | null | undefined): string {
  const t = (type ?? '').toLowerCase();
  return t.startsWith('x-unix') || t === 'x-local' ? t : 'smtp';
}

function secondOrder(c: Ctx, type: string, action: string): string {
  if (c.hint) return c.hint;
  const tryToMatch = !c.name || RETRY.has(c.name) || type !== 'smtp';
  if (!tryToMatch) return c.name;
  for (const r of SECOND_ORDER) if (matchReason(r, c.text)) return r;
  const cls = c.status.slice(0, 3);
  if (cls === '5.6' || cls === '4.6') return 'contenterror';
  if (cls === '5.7' || cls === '4.7') return 'securityerror';
  if (type.startsWith('x-unix')) return 'mailererror';
  if ((c.reply > 400 && c.reply < 408) || (c.reply > 500 && c.reply < 508)) return 'syntaxerror';
  if (/^(?:delayed|expired)/i.test(action)) return 'expired';
  if (c.command === 'HELO' || c.command === 'EHLO') return 'blocked';
  return '';
}

/* ----------------------------------------------------------------------------------------------
 * Status and reply codes in a text
 * -------------------------------------------------------------------------------------------- */

const IPV4 = /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g;

/**
 * The enhanced status code a text gives: the first specific one in reading order; the ambiguous
 * ones (X.0.0 and 4.4.7) only when nothing more specific is there. Version numbers and addresses
 * are not codes.
 */
export function findStatus(text: string, cls?: string): string | null {
  if (!text) return null;
  const t = ' ' + text.slice(0, 8000).replace(IPV4, '***.***.***.***') + ' ';
  // A code right after a reply code ("550 5.1.1", "550-'5.7.1", "550 #5.7.1") is the server's own answer.
  const paired = /\b[245]\d\d[ -]['"#(]?([245])\.([0-7])\.(\d{1,3})(?![\d.])/g;
  let p: RegExpExecArray | null;
  while ((p = paired.exec(t))) {
    if (cls && p[1] !== cls) continue;
    const code = `${p[1]}.${p[2]}.${Number(p[3])}`;
    if (!code.endsWith('.0.0') && code !== '4.4.7') return code;
  }
  const re = /([245])\.([0-7])\.(\d{1,3})/g;
  let fallback: string | null = null;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    const before = t.charCodeAt(m.index - 1);
    const after = t.charCodeAt(m.index + m[0].length);
    re.lastIndex = m.index + 1;
    if (before >= 46 && before <= 57) continue; // digit, '.' or '/' before: part of a number
    if (before === 86 || before === 118) continue; // "v1.2.3": a version
    if (after >= 48 && after <= 57) continue; // more than three digits
    if (after === 46 && t.charCodeAt(m.index + m[0].length + 1) >= 48 && t.charCodeAt(m.index + m[0].length + 1) <= 57)
      continue; // "5.1.1.3": not a code
    if (cls && m[1] !== cls) continue;
    if (m[1] === '2' && Number(m[3]) > 7) continue;
    const code = `${m[1]}.${m[2]}.${Number(m[3])}`;
    if (code.endsWith('.0.0') || code === '4.4.7') {
      fallback = code;
      continue;
    }
    return code;
  }
  return fallback;
}

const REPLY_CODES: Record<string, string[]> = {
  '5': [
    '550',
    '552',
    '553',
    '551',
    '521',
    '525',
    '502',
    '520',
    '523',
    '524',
    '530',
    '533',
    '534',
    '535',
    '538',
    '555',
    '556',
    '554',
    '557',
    '500',
    '501',
    '503',
    '504',
  ],
  '4': ['421', '450', '451', '452', '422', '430', '432', '453', '454', '455', '456', '458', '459'],
  '2': ['211', '214', '220', '221', '235', '250', '251', '252', '253', '354'],
};

/** The SMTP reply code a text gives (the most telling one of the class when a class is given). */
export function findReplyCode(text: string, cls?: string): string | null {
  if (!text || /x-unix/i.test(text)) return null;
  const t = ' ' + text.slice(0, 8000) + ' ';
  const codes =
    cls === '5' || cls === '4' || cls === '2'
      ? REPLY_CODES[cls]!
      : [...REPLY_CODES['5']!, ...REPLY_CODES['4']!, ...REPLY_CODES['2']!];
  for (const code of codes) {
    let from = 0;
    for (;;) {
      const i = t.indexOf(code, from);
      if (i < 0) break;
      from = i + 1;
      const before = t.charCodeAt(i - 1);
      const after = t.charCodeAt(i + 3);
      if (before > 45 && before < 58) continue;
      if (after > 45 && after < 58) continue;
      return code;
    }
  }
  return null;
}

/**
 * Reconciles the status field of a DSN with the code in its diagnostic text: the field wins unless
 * it is vague (X.0.0, 4.4.7, 5.3.x, a bare 5.1.1 beside a more telling code) or the reply code's
 * class agrees with the text's code rather than with the field.
 */
export function preferStatus(field: string | null, inText: string | null, reply: string | null): string | null {
  if (!field || field.length < 5) return inText;
  if (!inText || inText.length < 5) return field;
  const f = field[0];
  const e = inText[0];
  const r = reply?.[0];
  if (r && f !== e) {
    if (r === f) return field;
    if (r === e) return inText;
  }
  if (field === inText) return field;
  const fieldZero2 = field.includes('.0.0');
  const textZero2 = inText.includes('.0.0');
  if (fieldZero2) return textZero2 ? field : inText;
  if (/\.0(?:\.|$)/.test(field.slice(1)) && !/\.0(?:\.|$)/.test(inText.slice(1))) return inText;
  if (textZero2) return field;
  if (field === '4.4.7') return inText;
  if (field.startsWith('5.3.')) return inText;
  if (field === '5.1.1') return /\.0(?:\.|$)/.test(inText.slice(1)) ? field : inText;
  if (field === '5.1.3' && inText.startsWith('5.7.')) return inText;
  return field;
}

/** Whether a text says the failure is permanent (a 5xx code, or the word). */
export function isPermanent(text: string): boolean {
  const code = findStatus(text) ?? findReplyCode(text) ?? '';
  if (code.startsWith('5')) return true;
  return / permanent /i.test(text);
}

/** Whether a text says the failure is temporary (a 4xx code, or the words). */
export function isTemporary(text: string): boolean {
  if (!text) return false;
  const code = findStatus(text) ?? findReplyCode(text) ?? '';
  if (code.startsWith('4')) return true;
  return / temporar| persistent/i.test(text);
}

/** Whether a reason is a hard bounce (the address itself is bad); "notaccept" only when permanent. */
export function isHardBounce(reason: string, codesAndText: string): boolean {
  if (reason === 'userunknown' || reason === 'hostunknown' || reason === 'hasmoved') return true;
  if (reason !== 'notaccept') return false;
  if (!codesAndText.trim()) return true;
  const code = findStatus(codesAndText) ?? findReplyCode(codesAndText) ?? '';
  return code.startsWith('5') || !isTemporary(codesAndText);
}
