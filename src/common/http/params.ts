import { Injectable, type PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '@src/common/errors';

const INT4_MAX = 2_147_483_647;

/** A numeric path id (`/workflows/{id}/`); anything else is a 400 naming the parameter. */
@Injectable()
export class IntIdPipe implements PipeTransform<string, number> {
  constructor(private readonly name = 'id') {}

  transform(value: string): number {
    if (!/^\d{1,10}$/.test(value ?? '') || Number(value) < 1 || Number(value) > INT4_MAX) {
      throw new ValidationFailedError([{ field: this.name, message: 'must be a positive integer id' }]);
    }
    return Number(value);
  }
}

/** An execution is named by its numeric id or its execution_id. */
@Injectable()
export class ExecutionRefPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const ok = /^\d{1,18}$/.test(value ?? '') ? value !== '0' : /^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,99}$/.test(value ?? '');
    if (!ok) throw new ValidationFailedError([{ field: 'id', message: 'must be a numeric id or an execution_id' }]);
    return value;
  }
}

/** The id of an item's outcome in the ledger, `<batch>-<position>` as the items list gives it; 400 naming the field otherwise. */
export class ItemOutcomeIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[1-9]\d{0,15}-[1-9]\d{0,6}$/.test(value ?? '')) throw new ValidationFailedError([{ field: 'itemId', message: 'must be an item id such as 12-345, as the items list gives it' }]);
    return value;
  }
}
