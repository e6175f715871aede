// The email provider from the TypeScript sources (Jest transforms the require).
module.exports = require('../../server/src/provider').provider;
