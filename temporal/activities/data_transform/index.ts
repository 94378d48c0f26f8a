export {
  DATA_TRANSFORM_STEP_TYPE,
  createDataTransformExecutor,
  dataTransformExecutorModule,
} from './executor';
export * from './schema';
export * from './transform';
export { selectItems, shapeOutput, type InputShape, type ProgressHooks } from '@engine/activities/shared/items';
export { parseDecimal, parseCurrency, parseDate, convertUnit, castValue, parseBoolean, titleCase, isIsoDate } from '@engine/activities/shared/values';
