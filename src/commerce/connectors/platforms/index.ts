/**
 * The platform registry: which module speaks each connection platform, loaded
 * on first use, and the side helpers that build a row's supplier,
 * marketplace or carrier adapter (failing for good when the platform has no
 * such side, e.g. a feed used as a marketplace).
 */
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';
import type { ConnectionPlatform } from '@src/commerce/entities/shared';
import type { AdapterDeps, CarrierAdapter, MarketplaceAdapter, PlatformModule, SupplierAdapter } from './types';

export * from './types';
export { FieldMapping } from './mapping';
export { authFromCredentials } from './auth';

/** One line per platform; a platform without a line has no adapter yet. */
const MODULES: Partial<Record<ConnectionPlatform, () => Promise<PlatformModule>>> = {
  sandbox: async () => (await import('./sandbox')).sandboxPlatform,
  generic_rest: async () => (await import('./generic-rest')).genericRestPlatform,
  feed: async () => (await import('./feed')).feedPlatform,
  shopify: async () => (await import('./shopify')).shopifyPlatform,
  woocommerce: async () => (await import('./woocommerce')).woocommercePlatform,
};

/** Platforms that have a module. */
export function platformsWithModule(): ConnectionPlatform[] {
  return Object.keys(MODULES) as ConnectionPlatform[];
}

/** The module of a platform; fails for good when there is none. */
export async function platformModule(platform: ConnectionPlatform | string | null | undefined): Promise<PlatformModule> {
  const name = (platform || 'sandbox') as ConnectionPlatform;
  const load = MODULES[name];
  if (!load) {
    throw new StepError(ErrorCodes.PLATFORM_UNSUPPORTED, `platform ${String(name)} has no adapter; available: ${platformsWithModule().join(', ')}`, { details: { field: 'platform', platform: name } });
  }
  return load();
}

type Side = 'supplier' | 'marketplace' | 'carrier';

async function sideOf<K extends Side>(side: K, deps: AdapterDeps): Promise<NonNullable<PlatformModule[K]>> {
  const mod = await platformModule(deps.row.platform);
  const build = mod[side];
  if (!build) {
    const sides = (['supplier', 'marketplace', 'carrier'] as const).filter((s) => mod[s]);
    throw new StepError(ErrorCodes.PLATFORM_UNSUPPORTED, `${deps.row.code} (${deps.row.id}): platform ${mod.platform} has no ${side} adapter (it is a ${sides.join(' / ')} platform)`, {
      details: { field: 'platform', platform: mod.platform, side },
    });
  }
  return build as NonNullable<PlatformModule[K]>;
}

export async function supplierAdapter(deps: AdapterDeps): Promise<SupplierAdapter> {
  return (await sideOf('supplier', deps))(deps);
}

export async function marketplaceAdapter(deps: AdapterDeps): Promise<MarketplaceAdapter> {
  return (await sideOf('marketplace', deps))(deps);
}

export async function carrierAdapter(deps: AdapterDeps): Promise<CarrierAdapter> {
  return (await sideOf('carrier', deps))(deps);
}
