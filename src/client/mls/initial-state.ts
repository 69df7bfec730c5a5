/**
 * The MLS state a session starts from: a new group's, with its creator as the only member, or
 * the one a Welcome makes for a joiner.
 */
import {
  createGroup,
  decodeMlsMessage,
  emptyPskIndex,
  joinGroup,
  type ClientState,
  type Welcome,
} from "ts-mls";
import { randomBytes } from "../../protocol/bytes.js";
import { GroupError } from "../errors.js";
import { newKeyPackage, type KeyPackageRecord } from "./member.js";
import { mlsClientConfig, mlsSuite } from "./mls-suite.js";

/** A new group's state with a fresh key package for `creatorName` as its only leaf. */
export async function newGroupState(creatorName: string): Promise<ClientState> {
  const own: KeyPackageRecord = await newKeyPackage(creatorName);
  return createGroup(
    randomBytes(32),
    own.publicPackage,
    own.privatePackage,
    [],
    await mlsSuite(),
    mlsClientConfig,
  );
}

/** The state `keyPackage` joins with from an encoded MLS Welcome; GroupError when it cannot. */
export async function joinedState(
  welcome: Uint8Array,
  keyPackage: KeyPackageRecord,
): Promise<ClientState> {
  const decoded = decodeWelcome(welcome);
  if (!decoded) throw new GroupError("the invitation holds no MLS Welcome");
  try {
    return await joinGroup(
      decoded,
      keyPackage.publicPackage,
      keyPackage.privatePackage,
      emptyPskIndex,
      await mlsSuite(),
      undefined,
      undefined,
      mlsClientConfig,
    );
  } catch (cause) {
    throw new GroupError("the Welcome could not be joined", { cause });
  }
}

function decodeWelcome(bytes: Uint8Array): Welcome | undefined {
  try {
    const decoded = decodeMlsMessage(bytes, 0);
    return decoded?.[0].wireformat === "mls_welcome" ? decoded[0].welcome : undefined;
  } catch {
    return undefined;
  }
}
