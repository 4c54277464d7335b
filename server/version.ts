/** The version of the API and of this build; in backups, the OpenAPI document and `--version`. */
export const API_VERSION = "0.1.0";
