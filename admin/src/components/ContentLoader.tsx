import { Flex, Loader } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { getTranslation } from '../utils/getTranslation';

/** A spinner for a part of a page (Page.Loading fills the whole screen). */
export function ContentLoader() {
  const { formatMessage } = useIntl();
  return (
    <Flex justifyContent="center" padding={8}>
      <Loader>{formatMessage({ id: getTranslation('loading'), defaultMessage: 'Loading…' })}</Loader>
    </Flex>
  );
}
