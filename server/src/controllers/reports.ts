import type { Core } from '@strapi/strapi';

import type { CampaignReportTable } from '../../../shared/contracts/reports';
import type { CsvFile } from '../services/reports';
import { getService } from '../utils/get-service';
import type { Context } from './crud';

/**
 * Admin API for reports (reports.read): JSON `{ data }`, or with `?format=csv` a CSV download of the
 * report's table. The service validates the query (400 naming the field) before anything is read.
 */
const reports = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'reports');

  const respond = <Report>(ctx: Context, report: Report, csv: (report: Report) => CsvFile) => {
    ctx.set('Cache-Control', 'no-store');
    if (ctx.query.format !== 'csv') {
      ctx.body = { data: report };
      return;
    }
    const file = csv(report);
    ctx.set('Content-Type', 'text/csv; charset=utf-8');
    ctx.set('Content-Disposition', `attachment; filename="${file.filename}"`);
    ctx.body = file.body;
  };

  return {
    async overview(ctx: Context) {
      respond(ctx, await service().overview(ctx.query), service().csv.overview);
    },
    async servers(ctx: Context) {
      respond(ctx, await service().servers(ctx.query), service().csv.servers);
    },
    async server(ctx: Context) {
      respond(ctx, await service().server(ctx.params.id, ctx.query), service().csv.server);
    },
    async groups(ctx: Context) {
      respond(ctx, await service().groups(ctx.query), service().csv.groups);
    },
    async campaign(ctx: Context) {
      const report = await service().campaign(ctx.params.id, ctx.query);
      // Validated by the service: one of CAMPAIGN_REPORT_TABLES, or absent (funnel).
      const table = (ctx.query.table ?? 'funnel') as CampaignReportTable;
      respond(ctx, report, (value) => service().csv.campaign(value, table));
    },
  };
};

export default reports;
