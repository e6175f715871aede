import * as React from 'react';

import { Box, Flex, Typography } from '@strapi/design-system';

export interface Detail {
  label: string;
  /** null or undefined hides the row. */
  value: React.ReactNode;
}

/** Label/value rows, e.g. "Error code: EAUTH". Rows without a value are left out. */
export function DetailList({ details }: { details: Detail[] }) {
  const shown = details.filter((detail) => detail.value !== null && detail.value !== undefined && detail.value !== '');
  return (
    <Flex tag="dl" direction="column" alignItems="stretch" gap={2}>
      {shown.map((detail) => (
        <Flex key={detail.label} gap={4} alignItems="flex-start">
          <Box tag="dt" width="30%" shrink={0}>
            <Typography variant="sigma" textColor="neutral600">
              {detail.label}
            </Typography>
          </Box>
          <Box tag="dd" margin={0} style={{ wordBreak: 'break-word' }}>
            <Typography textColor="neutral800">{detail.value}</Typography>
          </Box>
        </Flex>
      ))}
    </Flex>
  );
}
