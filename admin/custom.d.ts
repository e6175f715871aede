/**
 * Ambient declarations for the admin bundle. The design system and Strapi ship their own types,
 * so nothing needs stubbing here; this file exists because the Strapi plugin layout expects it.
 */
export {};
