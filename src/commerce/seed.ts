/**
 * Sandbox data for `npm start`: one supplier, one marketplace and one carrier
 * pointing at the running sandbox, and the four predefined workflows (from their
 * templates) configured for them. Idempotent: run it on every start.
 */
import type { DataSource } from 'typeorm';
import { stepTypeRegistry } from '@engine/activities/registry';
import { appConfig } from '@src/config/config';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { COMMERCE_TEMPLATES, templateDefinition } from '@src/commerce/templates';

export interface SeedOptions {
  /** The sandbox's base URL, e.g. `http://127.0.0.1:4010`. */
  sandboxUrl: string;
  /** The app's WorkflowsService; by default one over `dataSource` knowing every built-in step type. */
  workflows?: WorkflowsService;
  /** Turn the AI steps on (enrichment, listing optimisation, fraud screening); default: when OPENAI_API_KEY is set. */
  aiEnabled?: boolean;
  /** Supplier and marketplace codes (default `sandbox`). */
  supplierCode?: string;
  marketplaceCode?: string;
  /** Carrier code (default `sandbox`). */
  carrierCode?: string;
  /** Codes of the created workflows: `<prefix><template code>` (default no prefix: `product_import_template`, ...). */
  workflowCodePrefix?: string;
}

export interface SeedResult {
  supplier_id: number;
  marketplace_id: number;
  carrier_id: number;
  workflows: Array<{ template: string; code: string; id: number; status: 'created' | 'updated' | 'unchanged' }>;
}

/** The sandbox's API URLs. */
export function sandboxApiUrls(sandboxUrl: string): { supplier: string; marketplace: string; carrier: string } {
  const base = sandboxUrl.replace(/\/+$/, '');
  return { supplier: `${base}/supplier/v1`, marketplace: `${base}/marketplace/v1`, carrier: `${base}/carrier/v1` };
}

/** What the sandbox marketplace demands of a listing. */
export const SANDBOX_MARKETPLACE_REQUIREMENTS = { required_fields: ['sku', 'title', 'cost_price', 'images'], title_max_length: 200, min_price: 1, min_images: 1 };

/**
 * Creates (or points at the given sandbox) the supplier and marketplace with
 * code `sandbox`, and creates each predefined workflow `<name>_template` if
 * missing. An existing workflow keeps its steps and settings; only the
 * sandbox-specific config values (ids and URLs) are brought up to date, as a
 * new version, when they changed.
 *
 * @example await seedSandboxCommerce(dataSource, { sandboxUrl: 'http://127.0.0.1:4010' })
 */
export async function seedSandboxCommerce(dataSource: DataSource, opts: SeedOptions): Promise<SeedResult> {
  const urls = sandboxApiUrls(opts.sandboxUrl);
  const supplierCode = opts.supplierCode ?? 'sandbox';
  const marketplaceCode = opts.marketplaceCode ?? 'sandbox';
  const [supplier] = (await dataSource.query(
    `INSERT INTO suppliers (code, name, api_base_url, settings) VALUES ($1, $2, $3, $4)
     ON CONFLICT (code) DO UPDATE SET api_base_url = EXCLUDED.api_base_url, updated_at = now()
       WHERE suppliers.api_base_url IS DISTINCT FROM EXCLUDED.api_base_url
     RETURNING id`,
    [supplierCode, 'Sandbox Supplier', urls.supplier, JSON.stringify({ page_size: 1000 })],
  )) as Array<{ id: number }>;
  const supplierId = supplier?.id ?? (await idOf(dataSource, 'suppliers', supplierCode));
  const [marketplace] = (await dataSource.query(
    `INSERT INTO marketplaces (code, name, api_base_url, settings, markup_percent, currency, requirements) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (code) DO UPDATE SET api_base_url = EXCLUDED.api_base_url, updated_at = now()
       WHERE marketplaces.api_base_url IS DISTINCT FROM EXCLUDED.api_base_url
     RETURNING id`,
    [marketplaceCode, 'Sandbox Marketplace', urls.marketplace, JSON.stringify({ page_size: 1000 }), 60, 'USD', JSON.stringify(SANDBOX_MARKETPLACE_REQUIREMENTS)],
  )) as Array<{ id: number }>;
  const marketplaceId = marketplace?.id ?? (await idOf(dataSource, 'marketplaces', marketplaceCode));
  const carrierCode = opts.carrierCode ?? 'sandbox';
  const [carrier] = (await dataSource.query(
    `INSERT INTO carriers (code, name, api_base_url) VALUES ($1, $2, $3)
     ON CONFLICT (code) DO UPDATE SET api_base_url = EXCLUDED.api_base_url, updated_at = now()
       WHERE carriers.api_base_url IS DISTINCT FROM EXCLUDED.api_base_url
     RETURNING id`,
    [carrierCode, 'Sandbox Carrier', urls.carrier],
  )) as Array<{ id: number }>;
  const carrierId = carrier?.id ?? (await idOf(dataSource, 'carriers', carrierCode));

  const workflows = opts.workflows ?? new WorkflowsService(dataSource, stepTypeRegistry());
  const ai = opts.aiEnabled ?? appConfig().openai.apiKey !== null;
  const result: SeedResult = { supplier_id: supplierId, marketplace_id: marketplaceId, carrier_id: carrierId, workflows: [] };
  for (const [name, template] of Object.entries(COMMERCE_TEMPLATES)) {
    const code = `${opts.workflowCodePrefix ?? ''}${template.code}`;
    const sandboxConfig = sandboxConfigFor(template.config, { supplierId, marketplaceId, carrierId, urls });
    const existing: Array<{ id: number; config: Record<string, unknown> }> = await dataSource.query(
      `SELECT id, config FROM workflows WHERE code = $1 AND deleted_at IS NULL`,
      [code],
    );
    if (existing.length === 0) {
      const aiConfig = aiFlags(template.config, ai);
      const { workflow } = await workflows.create({ ...templateDefinition(template, { code, config: { ...sandboxConfig, ...aiConfig } }) }, 'seed');
      result.workflows.push({ template: name, code, id: workflow.id, status: 'created' });
      continue;
    }
    const current = existing[0].config ?? {};
    // A workflow made from an older template (carrier_url instead of carrier_id) keeps following the sandbox too.
    Object.assign(sandboxConfig, sandboxConfigFor(current, { supplierId, marketplaceId, carrierId, urls }));
    const stale = Object.entries(sandboxConfig).some(([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v));
    if (stale) await workflows.update(existing[0].id, { config: { ...current, ...sandboxConfig } }, 'seed');
    result.workflows.push({ template: name, code, id: existing[0].id, status: stale ? 'updated' : 'unchanged' });
  }
  return result;
}

async function idOf(dataSource: DataSource, table: 'suppliers' | 'marketplaces' | 'carriers', code: string): Promise<number> {
  const rows: Array<{ id: number }> = await dataSource.query(`SELECT id FROM ${table} WHERE code = $1`, [code]);
  return rows[0].id;
}

/** The config keys of a template that name the sandbox: the supplier, marketplace and carrier ids and the API URLs. */
function sandboxConfigFor(
  config: Record<string, unknown>,
  s: { supplierId: number; marketplaceId: number; carrierId: number; urls: { marketplace: string; carrier: string } },
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if ('supplier_id' in config) out.supplier_id = s.supplierId;
  if ('marketplace_id' in config) out.marketplace_id = s.marketplaceId;
  if ('marketplace_url' in config) out.marketplace_url = s.urls.marketplace;
  if ('carrier_url' in config) out.carrier_url = s.urls.carrier;
  if ('carrier_id' in config) out.carrier_id = s.carrierId;
  return out;
}

/** The AI switches a template has, all set to `on`. */
function aiFlags(config: Record<string, unknown>, on: boolean): Record<string, unknown> {
  const flags = ['enable_ai_enrichment', 'enable_ai_optimization', 'enable_fraud_detection'];
  return Object.fromEntries(flags.filter((f) => f in config).map((f) => [f, on]));
}
