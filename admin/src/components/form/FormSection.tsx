import * as React from 'react';

import { Box, Flex, Grid, Typography } from '@strapi/design-system';

/** A white card with a heading and a two-column grid of fields (one column on small screens). */
export function FormSection({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={6}>
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography variant="delta" tag="h2">
          {title}
        </Typography>
        <Grid.Root gap={4}>{children}</Grid.Root>
      </Flex>
    </Box>
  );
}

/** One cell of a FormSection's grid: half the width, or all of it with `wide`. */
export function FormCell({ wide = false, children }: { wide?: boolean; children: React.ReactNode }) {
  return (
    <Grid.Item col={wide ? 12 : 6} s={12} direction="column" alignItems="stretch">
      {children}
    </Grid.Item>
  );
}
