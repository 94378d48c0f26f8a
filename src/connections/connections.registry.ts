import type { DataSource } from 'typeorm';
import type { AppConfig } from '@src/config/config';
import type { SecretsService } from '@src/secrets/secrets.service';
import { CONNECTION_KINDS, type ConnectionKind } from '@src/connections/connection-validation';
import { ConnectionsService } from '@src/connections/connections.service';

/** One {@link ConnectionsService} per kind, over one data source, secret store and HTTP allow-list. */
export class Connections {
  private readonly services: Map<ConnectionKind, ConnectionsService>;

  constructor(dataSource: DataSource, secrets: SecretsService, config: Pick<AppConfig, 'httpAllowHosts'>) {
    this.services = new Map(CONNECTION_KINDS.map((k) => [k, new ConnectionsService(k, dataSource, secrets, config)]));
  }

  of(kind: ConnectionKind): ConnectionsService {
    return this.services.get(kind)!;
  }

  close(): void {
    for (const s of this.services.values()) s.close();
  }
}
