// Jest transforms this require of TypeScript; outside Jest, use the built package instead.
module.exports = require('../../server/src').default;
