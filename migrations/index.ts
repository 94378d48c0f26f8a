import { InitialSchema1764230400000 } from './1764230400000-InitialSchema';
import { Secrets1764230500000 } from './1764230500000-Secrets';
import { SourceData1764230600000 } from './1764230600000-SourceData';
import { FetchCursors1764230700000 } from './1764230700000-FetchCursors';
import { ApiKeys1764230800000 } from './1764230800000-ApiKeys';
import { Commerce1764230900000 } from './1764230900000-Commerce';
import { ExactlyOnce1796210398240 } from './1796210398240-ExactlyOnce';
import { FailedItems1796210543001 } from './1796210543001-FailedItems';
import { ApiKeyChanges1796211220482 } from './1796211220482-ApiKeyChanges';
import { InputSchemas1796212762980 } from './1796212762980-InputSchemas';
import { Connections1796221788023 } from './1796221788023-Connections';
import { NotificationChannels1796223858495 } from './1796223858495-NotificationChannels';
import { PayloadText1796222568383 } from './1796222568383-PayloadText';
import { ItemLedger1796224200000 } from './1796224200000-ItemLedger';
import { BasicCredentials1796230100000 } from './1796230100000-BasicCredentials';
import { FanOut1796232000000 } from './1796232000000-FanOut';
import { RateBudgets1796233000000 } from './1796233000000-RateBudgets';
import { Recovery1796234000000 } from './1796234000000-Recovery';
import { ItemLedgerOkRuns1796235000000 } from './1796235000000-ItemLedgerOkRuns';
import { AiReviewItems1796235100000 } from './1796235100000-AiReviewItems';

/** Every migration, in order. Listed explicitly so the bundle and the CLI agree. */
export const MIGRATIONS = [
  InitialSchema1764230400000,
  Secrets1764230500000,
  SourceData1764230600000,
  FetchCursors1764230700000,
  ApiKeys1764230800000,
  Commerce1764230900000,
  ExactlyOnce1796210398240,
  FailedItems1796210543001,
  ApiKeyChanges1796211220482,
  InputSchemas1796212762980,
  Connections1796221788023,
  PayloadText1796222568383,
  NotificationChannels1796223858495,
  ItemLedger1796224200000,
  BasicCredentials1796230100000,
  FanOut1796232000000,
  RateBudgets1796233000000,
  Recovery1796234000000,
  ItemLedgerOkRuns1796235000000,
  AiReviewItems1796235100000,
];
