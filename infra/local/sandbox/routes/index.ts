/**
 * The sandbox's routes, in match order. Adding a route: write a module exporting a RouteSpec, list it here, and
 * (when faults should reach it) add its scope to SandboxRoute in ../types.ts.
 */
import { locationRoute, refreshTokenRoute, tokenRoute } from './auth.js';
import { downloadUrlsRoute } from './download-urls.js';
import { downloadsRoute } from './downloads.js';
import { flowAttachmentsRoute } from './flow-attachments.js';
import { flowsPdfRoute } from './flows-pdf.js';
import { applyListRoute, flowDetailsRoute } from './forms.js';
import { invoiceSearchRoute, invoiceUrlsRoute } from './invoices.js';
import { packageDownloadsRoute } from './package-downloads.js';
import type { RouteSpec } from './route-spec.js';

export const ROUTES: readonly RouteSpec[] = [
  locationRoute,
  tokenRoute,
  refreshTokenRoute,
  downloadUrlsRoute,
  applyListRoute,
  flowDetailsRoute,
  flowAttachmentsRoute,
  invoiceSearchRoute,
  invoiceUrlsRoute,
  flowsPdfRoute,
  downloadsRoute,
  packageDownloadsRoute,
];

export function findRoute(pathname: string): RouteSpec | undefined {
  return ROUTES.find((r) => r.matches(pathname));
}
