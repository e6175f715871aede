import type { Alert, ProtectionRuleId } from '../../../../shared/contracts/alerts';
import type { ReportRates } from '../../../../shared/contracts/reports';

/**
 * The protection thresholds a report measures servers against. The API does not publish the
 * configured ones, so these are the configuration's defaults (server/src/config/schema.ts:
 * protection.rules), replaced by the threshold an alert of the same rule recorded in its evidence
 * (the newest alert wins): a site that changed its thresholds shows its own once one has tripped.
 */
export const DEFAULT_THRESHOLDS: Record<'bounceRate' | 'complaintRate', number> = {
  bounceRate: 0.05,
  complaintRate: 0.003,
};

export type Thresholds = typeof DEFAULT_THRESHOLDS;

/** Defaults, overridden by what the alerts (newest first) say. */
export function thresholdsFrom(alerts: Alert[] | undefined): Thresholds {
  const thresholds = { ...DEFAULT_THRESHOLDS };
  const seen = new Set<ProtectionRuleId>();
  for (const alert of alerts ?? []) {
    if (seen.has(alert.rule) || !(alert.rule in thresholds) || !(alert.evidence.threshold > 0)) continue;
    seen.add(alert.rule);
    thresholds[alert.rule as keyof Thresholds] = alert.evidence.threshold;
  }
  return thresholds;
}

/** The rules a server's rates break over the report's range. */
export function rulesAbove(rates: ReportRates, thresholds: Thresholds): Array<keyof Thresholds> {
  const broken: Array<keyof Thresholds> = [];
  if (rates.bounceRate !== null && rates.bounceRate > thresholds.bounceRate) broken.push('bounceRate');
  if (rates.complaintRate !== null && rates.complaintRate > thresholds.complaintRate) broken.push('complaintRate');
  return broken;
}
