/**
 * The one place that loads dcmjs, so that every module of src/dicom shares one copy of it (the ESM build) and
 * its logging is configured once.
 */
import dcmjs from 'dcmjs';

// dcmjs logs through loglevel, whose info/debug output goes to console.log, i.e. stdout, which belongs to the
// MCP protocol. Its warnings ("Invalid vr type", "Unknown name in dataset") are noise for a server that turns
// every problem into an exception anyway. Child loggers keep the level they were created with, hence the loop.
dcmjs.log.setLevel('silent');
for (const logger of Object.values(dcmjs.log.getLoggers())) logger.setLevel('silent');

export const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;
export type { DicomDataset, DicomElement, DictionaryEntry } from 'dcmjs';
/** A P10 file as dcmjs reads it: `meta` (group 0002) and `dict` (the dataset). */
export type DicomFile = import('dcmjs').DicomDict;
