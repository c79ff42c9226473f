/**
 * The EBML and Matroska element IDs a WebM recording uses (RFC 8794 §11.2, RFC 9559 §5.1),
 * named as the specs name them.
 * @module
 */

export const EBML = 0x1a45dfa3;
export const EBMLVersion = 0x4286;
export const EBMLReadVersion = 0x42f7;
export const EBMLMaxIDLength = 0x42f2;
export const EBMLMaxSizeLength = 0x42f3;
export const DocType = 0x4282;
export const DocTypeVersion = 0x4287;
export const DocTypeReadVersion = 0x4285;

export const Segment = 0x18538067;
export const Info = 0x1549a966;
export const TimestampScale = 0x2ad7b1;
export const MuxingApp = 0x4d80;
export const WritingApp = 0x5741;

export const Tracks = 0x1654ae6b;
export const TrackEntry = 0xae;
export const TrackNumber = 0xd7;
export const TrackUID = 0x73c5;
export const TrackType = 0x83;
export const FlagLacing = 0x9c;
export const Language = 0x22b59c;
export const CodecID = 0x86;
export const CodecPrivate = 0x63a2;
export const CodecDelay = 0x56aa;
export const SeekPreRoll = 0x56bb;
export const Video = 0xe0;
export const PixelWidth = 0xb0;
export const PixelHeight = 0xba;
export const Audio = 0xe1;
export const SamplingFrequency = 0xb5;
export const Channels = 0x9f;

export const Cluster = 0x1f43b675;
export const Timestamp = 0xe7;
export const SimpleBlock = 0xa3;
