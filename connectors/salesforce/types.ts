// Raw Salesforce REST shapes, validated at the boundary.
import { z } from 'zod';

export const salesforceRecordSchema = z
  .object({
    Id: z.string().min(1),
    SystemModstamp: z.string().min(1),
  })
  .catchall(z.unknown());
export type SalesforceRecord = z.infer<typeof salesforceRecordSchema>;

export const queryResultSchema = z.object({
  totalSize: z.number().optional(),
  done: z.boolean().optional(),
  nextRecordsUrl: z.string().optional(),
  records: z.array(z.unknown()),
});

export const saveErrorSchema = z
  .object({
    statusCode: z.string().optional(),
    errorCode: z.string().optional(),
    message: z.string().optional(),
    fields: z.array(z.string()).optional(),
  })
  .catchall(z.unknown());

export const saveResultSchema = z.object({
  id: z.string().optional().nullable(),
  success: z.boolean(),
  created: z.boolean().optional(),
  errors: z.array(saveErrorSchema).optional(),
});
export const saveResultsSchema = z.array(saveResultSchema);
