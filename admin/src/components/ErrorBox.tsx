import { Box, Flex, Typography } from '@strapi/design-system';

/** A red box for an error the user cannot dismiss, only fix (the design system Alert always has a close button). */
export function ErrorBox({ title, message }: { title: string; message: string }) {
  return (
    <Box role="alert" background="danger100" borderColor="danger200" hasRadius padding={4}>
      <Flex direction="column" alignItems="flex-start" gap={1}>
        <Typography fontWeight="bold" textColor="danger700">
          {title}
        </Typography>
        <Typography textColor="danger700">{message}</Typography>
      </Flex>
    </Box>
  );
}
