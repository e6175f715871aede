import { createCampaignSchema, type Campaign } from '../../shared/contracts/campaigns';
import { toCampaignInput, toFormValues } from '../../admin/src/pages/campaigns/campaignFormValues';

/** The campaign editor's Segment routing section: what it shows for a saved campaign and what it sends back. */
describe('campaign form: segment routing', () => {
  const saved = {
    name: 'Regional',
    segmentRouting: {
      attribute: 'region',
      routes: [
        { value: 'eu', group: 'group-eu' },
        { value: 'us', group: 'group-us' },
      ],
      otherwise: 'skip',
    },
  } as unknown as Campaign;

  it('round-trips a saved segment routing unchanged', () => {
    const values = toFormValues(saved);
    expect(values).toMatchObject({ segmentEnabled: true, segmentAttribute: 'region', segmentOtherwise: 'skip' });
    expect(toCampaignInput(values, null).segmentRouting).toEqual(saved.segmentRouting);
  });

  it('sends null when the section is off, and starts a new campaign off with one empty row', () => {
    expect(toCampaignInput({ ...toFormValues(saved), segmentEnabled: false }, null).segmentRouting).toBeNull();
    const fresh = toFormValues();
    expect(fresh).toMatchObject({ segmentEnabled: false, segmentRoutes: [{ value: '', group: '' }], segmentOtherwise: 'campaign-group' });
    expect(toCampaignInput(fresh, null).segmentRouting).toBeNull();
  });

  it('an incomplete row is refused before saving, naming its field', () => {
    const input = toCampaignInput({ ...toFormValues(), name: 'x', segmentEnabled: true, segmentAttribute: 'tier', segmentRoutes: [{ value: 'gold', group: '' }] }, null);
    const result = createCampaignSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([['segmentRouting.routes.0.group', 'is required']]);
  });
});
