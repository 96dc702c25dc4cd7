import { DefaultFailureConverter } from '@temporalio/common';

// Loaded by the SDK by path (DataConverter.failureConverterPath) when payload encryption is
// on: a failure's message and stack trace travel in its encoded attributes, a payload the
// codec encrypts, so an error that quotes lead data (a CRM's answer) is not stored in clear
// text. Temporal shows such a failure as "Encoded failure" until decoded.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
