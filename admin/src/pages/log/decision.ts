import type { MessageLogEntry } from '../../../../shared/contracts/messages';

type Text = (id: string, defaultMessage: string, values?: Record<string, string | number>) => string;

/**
 * Why a message went where it went, in words: "Rule 'Gmail via pool B' → group marketing; skipped
 * smtp-a: From domain not allowed". Null for mail logged before decisions were recorded.
 */
export const describeDecision = (entry: MessageLogEntry, text: Text): string | null => {
  const { decision } = entry;
  if (!decision) return null;
  const where = entry.group
    ? text('decision.group', 'group {group}', { group: entry.group })
    : text('decision.server', 'server {server}', { server: entry.serverName ?? '?' });
  const { route } = decision;
  const how =
    route.via === 'rule'
      ? text('decision.rule', "Rule '{rule}'", { rule: route.ruleName ?? route.ruleId ?? '?' })
      : route.via === 'segment'
        ? text('decision.segment', 'Segment {segment}', { segment: route.segment ?? '?' })
        : route.via === 'default'
          ? text('decision.default', 'No rule matched: default')
          : text('decision.named', 'Named when sent');
  const skips = decision.skips.map((skip) => text('decision.skip', 'skipped {server}: {reason}', { server: skip.server, reason: skip.reason }));
  return [`${how} → ${where}`, ...skips].join('; ');
};
