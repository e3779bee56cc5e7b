// Example prompts a newcomer can pick, each leading to something the studio shows, with one line
// saying what to look for.

export interface ExamplePrompt {
  readonly id: string;
  readonly label: string;
  readonly prompt: string;
  /** Prepend <|endoftext|>. */
  readonly bos: boolean;
  /** What to look for, in one line. */
  readonly look: string;
  /** The instruments tab that shows it best. */
  readonly tab?: string;
  /** A second prompt: picking the example turns compare mode on with it as prompt B. */
  readonly compare?: string;
  /** The causal instruments' answer and foil (one token each). */
  readonly answer?: string;
  readonly foil?: string;
}

const passage =
  'Mr. and Mrs. Dursley, of number four, Privet Drive, were proud to say that they were perfectly normal, thank you very much.';

const long =
  'It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his chin nuzzled into his ' +
  'breast in an effort to escape the vile wind, slipped quickly through the glass doors of Victory Mansions, though ' +
  'not quickly enough to prevent a swirl of gritty dust from entering along with him. The hallway smelt of boiled ' +
  'cabbage and old rag mats. At one end of it a coloured poster, too large for indoor display, had been tacked to ' +
  'the wall. It depicted simply an enormous face, more than a metre wide: the face of a man of about forty-five, ' +
  'with a heavy black moustache and ruggedly handsome features. Winston made for the stairs. It was no use trying ' +
  'the lift. Even at the best of times it was seldom working, and at present the electric current was cut off ' +
  'during daylight hours.';

export const examplePrompts: readonly ExamplePrompt[] = [
  {
    id: 'induction',
    label: 'A repeated passage (induction)',
    prompt: `${passage} ${passage}`,
    bos: true,
    look: 'in the second copy, induction heads attend to the token after its first occurrence: a diagonal stripe offset from the main one',
    tab: 'detectors',
  },
  {
    id: 'france',
    label: '“The capital of France is” (logit lens)',
    prompt: 'The capital of France is',
    bos: false,
    look: 'on a real GPT-2, the logit lens’s top token at the last position turns into “ Paris” in the upper layers',
    tab: 'lens',
  },
  {
    id: 'pronoun',
    label: 'A pronoun sentence (coreference)',
    prompt: 'The doctor called the nurse because she wanted to check on the patient, and she',
    bos: true,
    look: 'focus on the “ she” rows: some heads in the middle layers attend back to the noun the pronoun refers to',
  },
  {
    id: 'long',
    label: 'A long passage (sinks, late sparsity)',
    prompt: long,
    bos: true,
    look: 'most heads park their attention on the first token (a bright left column, the sink); entropy falls in later layers',
    tab: 'entropy',
  },
  {
    id: 'ioi',
    label: 'Indirect object: Mary and John (patching)',
    prompt: 'When Mary and John went to the store, John gave a drink to',
    bos: false,
    compare: 'When Mary and John went to the store, Mary gave a drink to',
    answer: ' Mary',
    foil: ' John',
    look: 'patch A (clean) into B (corrupted): on GPT-2 small, the name movers’ heads in layers 9–10 and the “ Mary”/“ John” positions restore the logit difference; the Attribution tab shows which heads write it',
    tab: 'patch',
  },
];
